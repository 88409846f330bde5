"""Packaged YAML configurations (packaged defaults)."""
