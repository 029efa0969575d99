"""satqkd.distill.estimation."""
