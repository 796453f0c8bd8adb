"""A field the loaded policy decides is an error without a policy, never an answer: `rule:none`
without a policy once selected every event, which reads as "no rule matches anything"."""

from __future__ import annotations

from pathlib import Path

import pytest

from k8saudit_tui.engine import fields
from k8saudit_tui.engine.logs.sources import expand_sources
from k8saudit_tui.engine.query import FilterError, compile_filter
from k8saudit_tui.engine.store import StoreLoader

LOG = Path(__file__).parent / "data" / "logs" / "audit2rbac-demo.jsonl"
TERMS = {"rule": "rule:none", "level": "level:None", "written": "written:no", "drift": "drift:yes"}


@pytest.mark.parametrize("text", [*TERMS.values(), "!rule:none", "verb:get | level:Metadata"])
def test_a_policy_field_without_a_policy_is_an_error(text: str) -> None:
    store = StoreLoader(expand_sources([str(LOG)]), None, workers=1).load_all()
    with pytest.raises(FilterError, match="needs a policy"):
        compile_filter(text).apply(store)


def test_every_field_that_needs_a_policy_is_covered() -> None:
    needing = {f.name for f in fields.FIELDS if f.needs_policy} - {"candidate", "change"}
    assert needing == set(TERMS)
