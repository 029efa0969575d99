"""satqkd.keys."""
