"""The benchmarks (specs, readers, manifests), the modalities' loaders and decoding samples for a backbone."""
