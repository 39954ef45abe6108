"""Using what the pipeline learned: predict, export, search and the FAISS galleries behind it."""
