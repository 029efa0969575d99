"""satqkd.orbit."""
