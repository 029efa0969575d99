"""satqkd.config."""
