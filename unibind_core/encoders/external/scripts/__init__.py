"""Scripts run by path under an external environment's interpreter (unibind_core/encoders/external/runner.py).

They import only the standard library, `dagster_pipes` (optional) and their own model stack, never unibind:
importing them here (as the layering test does) runs nothing.
"""
