"""Kept for importers: data captions now live in the package unibind_core/captioners/."""
from __future__ import annotations

from unibind_core.captioners import (CAPTION_PROMPT, CAPTIONERS, CaptionConfig, Captioner, CaptionJob,  # noqa: F401
                                     ManifestCaptioner, caption_prompt)
