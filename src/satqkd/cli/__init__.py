"""satqkd.cli."""
