"""satqkd.campaign."""
