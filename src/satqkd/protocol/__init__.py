"""satqkd.protocol."""
