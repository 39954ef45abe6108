"""How outputs are stored: Parquet table contracts and their schemas, the data layout, atomic IO, shards."""
