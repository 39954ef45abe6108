"""Benchmarks: the registry of what can be read (spec.py), readers and the manifest contract."""
