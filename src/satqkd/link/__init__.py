"""satqkd.link."""
