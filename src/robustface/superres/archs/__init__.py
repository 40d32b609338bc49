"""Architectures that are not importable from an installed package (one file each)."""
