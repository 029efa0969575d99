"""satqkd.distill."""
