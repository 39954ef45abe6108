"""Alignment strategies by name (docs/method.md §4): `lcl` (UniBind), `centrobind`, `exmcr`."""
from unibind_core.aligners.base import AlignData, Aligner, Objective, options_of
from unibind_core.registry import Registry

ALIGNERS: Registry[type] = Registry("aligner", {
    "lcl": "unibind_core.aligners.lcl:LCL",
    "centrobind": "unibind_core.aligners.centrobind:CentroBind",
    "exmcr": "unibind_core.aligners.exmcr:ExMCR",
})

__all__ = ["ALIGNERS", "AlignData", "Aligner", "Objective", "options_of"]
