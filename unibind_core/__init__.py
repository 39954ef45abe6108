"""UniBind as a library: knowledge base, embedding centres, contrastive heads, evaluation.

Never imports dagster (tests/test_layering.py keeps it so): everything an asset does is callable here.
"""

# Before anything loads NumPy, PyTorch or FAISS: their kernels are chosen when they load (core/numeric_env.py).
from unibind_core.core import numeric_env as _numeric_env

_numeric_env.apply()
