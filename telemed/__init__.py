"""telemed."""
