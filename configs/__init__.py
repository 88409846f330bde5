"""Packaged YAML configurations (the repository's configs/ folder)."""
