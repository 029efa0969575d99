"""satqkd.simulate."""
