"""Why a format's lost fields cannot be evaluated, in the words the explain trace and the detail
pane show: the format module's own table where it has one (`formats.gke.LOST_REASONS`), else a
sentence built from the format's label.

Contract: `lost_fields(code)` is what a row of format `code` lost that a policy reads
(policy.lossy.LOST_BY_CODE); `reasons(code)` maps each field the format lost to its reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from k8saudit_tui.engine.logs.formats import BY_CODE, gke
from k8saudit_tui.engine.policy.lossy import LOST_BY_CODE

_OWN: Mapping[str, Mapping[str, str]] = MappingProxyType({gke.FORMAT: MappingProxyType(gke.LOST_REASONS)})


def lost_fields(code: int) -> frozenset[str]:
    """The fields format `code` lost that a policy reads (empty for an unknown code)."""
    return LOST_BY_CODE[code] if 0 <= code < len(LOST_BY_CODE) else frozenset()


def reasons(code: int) -> Mapping[str, str]:
    """Per field format `code` lost, why it cannot be evaluated."""
    if not 0 <= code < len(BY_CODE):
        return {}
    info = BY_CODE[code]
    own = _OWN.get(info.name, {})
    fallback = f"is not present in {info.provider} logs ({info.label})"
    return {field: own.get(field, f"{field} {fallback}") for field in info.lost}
