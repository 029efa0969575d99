"""satqkd.report."""
