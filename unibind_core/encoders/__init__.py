"""Frozen encoders: the data backbones, text towers, external environments, embedding loose files."""
