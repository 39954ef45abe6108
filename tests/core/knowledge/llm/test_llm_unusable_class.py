"""A describer that answers one class with nothing usable: each of its requests is asked again (new seed) up to
`llm.max_bad_answers` times, then the descriptions stage fails naming that class and why, writing nothing
(issue 22: the cause ends where it starts, not as a class without centres two stages later)."""

from __future__ import annotations

import dataclasses

import pytest
from fake_openai import Fault
from llm_testing import BENCH, llm_settings, write_classes

from unibind_core.stages.knowledge import stage_descriptions


def test_a_class_without_usable_answers_fails_the_descriptions_stage_naming_it(server, tmp_path):
    s = dataclasses.replace(llm_settings(tmp_path, server.base_url, max_bad_answers=2), descriptions_per_category=6)
    write_classes(s)
    refusal = Fault(content="I'm sorry, but I can't help with that.")
    server.fault = lambda call: refusal if "an owl" in call.prompt else None
    with pytest.raises(
        ValueError,
        match=r"no usable descriptions for categories \['n002'\] .*'n002': 'refusal: "
        r"2 unusable answers",
    ):
        stage_descriptions(s, BENCH)
    assert len([c for c in server.calls if "an owl" in c.prompt]) == 2  # asked, asked again, given up
    assert not s.layout.descriptions(BENCH).exists()
