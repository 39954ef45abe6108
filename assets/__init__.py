"""Dagster assets and checks: thin wrappers that call unibind_core.stages and shape metadata."""
