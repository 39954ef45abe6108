"""Demo writers: one module per real benchmark format."""
