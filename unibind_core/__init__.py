"""UniBind as a library: knowledge base, embedding centres, contrastive heads, evaluation.

Never imports dagster (tests/test_layering.py keeps it so): everything an asset does is callable here.
"""
