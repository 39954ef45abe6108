"""Kept for importers: data captions now live in the package unibind_core/captioners/."""
from __future__ import annotations

from unibind_core.captioners import (  # noqa: F401
                                     CAPTION_PROMPT,
                                     CAPTIONERS,
                                     CaptionConfig,
                                     Captioner,
                                     CaptionJob,
                                     ManifestCaptioner,
                                     caption_prompt,
)
