"""User-facing Python APIs."""
