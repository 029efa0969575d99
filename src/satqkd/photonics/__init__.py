"""satqkd.photonics."""
