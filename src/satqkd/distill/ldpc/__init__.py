"""satqkd.distill.ldpc."""
