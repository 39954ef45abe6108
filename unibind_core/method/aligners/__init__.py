"""Alignment strategies by name (docs/method.md §4): `lcl` (UniBind), `centrobind`, `exmcr`."""

from unibind_core.core.registry import Registry
from unibind_core.method.aligners.base import AlignData, Aligner, Objective, options_of

ALIGNERS: Registry[type] = Registry(
    "aligner",
    {
        "lcl": "unibind_core.method.aligners.lcl:LCL",
        "centrobind": "unibind_core.method.aligners.centrobind:CentroBind",
        "exmcr": "unibind_core.method.aligners.exmcr:ExMCR",
    },
)

__all__ = ["ALIGNERS", "AlignData", "Aligner", "Objective", "options_of"]
