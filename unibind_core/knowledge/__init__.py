"""The LLM knowledge base: category descriptions, data captions, curation, prompt templates and the
text-embedding cache."""
