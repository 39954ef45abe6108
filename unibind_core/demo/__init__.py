"""The offline demo world: scikit-learn's bundled 8x8 digits turned into six modalities, each written
in the on-disk format of a real benchmark so the demo runs the same readers as the real data."""
