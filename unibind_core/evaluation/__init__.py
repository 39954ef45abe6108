"""Scoring: classification and retrieval metrics, results tables and plots, the paper's numbers, asset checks."""
