"""The format modules, in the order their `recognise` is tried, and which module owns each format.

Why a registry of import paths rather than imports: the provider modules (`eks`, `aks`, `gke`) are
written apart and may be absent from a build; a missing one is skipped (its records are then
"not an audit event"), never an ImportError. Paths, not modules, so a worker process (which
imports what it is told) can be handed the same list, and a test or a benchmark can hand a
stand-in module for a provider in the same way.
"""

from __future__ import annotations

import importlib
from functools import cache
from types import ModuleType

from k8saudit_tui.engine.logs.formats import BY_NAME

_PACKAGE = "k8saudit_tui.engine.logs.formats"

Registry = tuple[tuple[str, str], ...]
"""(module name, import path) pairs, in recognition order."""

MODULES: Registry = (
    ("shippers", f"{_PACKAGE}.shippers"),
    ("eks", f"{_PACKAGE}.eks"),
    ("aks", f"{_PACKAGE}.aks"),
    ("gke", f"{_PACKAGE}.gke"),
)
"""The order of cloud-formats.md §1 after the raw Event: shippers (EventList, Docker) are the
cheapest tests, then CloudWatch, Azure and Cloud Logging."""

OWNER: dict[str, str] = {
    "eventlist": "shippers",
    "cri": "shippers",
    "docker": "shippers",
    "openshift": "shippers",
    "cloudwatch": "eks",
    "cloudwatch-insights": "eks",
    "cloudwatch-s3": "eks",
    "cloudwatch-subscription": "eks",
    "aks-diagnostic": "aks",
    "aks-loganalytics": "aks",
    "aks-azurediagnostics": "aks",
    "gke": "gke",
}
"""The module whose `unwrap` reads a format (what `--format NAME` forces); `raw` has none."""
assert set(OWNER) | {"raw"} == set(BY_NAME), "every format of FORMATS has an owner"


@cache
def load(registry: Registry = MODULES) -> tuple[tuple[str, ModuleType], ...]:
    """The importable modules of `registry`, in order; a module that is not there is left out
    (an import error *inside* a present module is a bug and is raised)."""
    found: list[tuple[str, ModuleType]] = []
    for name, path in registry:
        try:
            found.append((name, importlib.import_module(path)))
        except ModuleNotFoundError as missing:
            if missing.name != path:
                raise
    return tuple(found)


def owner(format_name: str, registry: Registry = MODULES) -> ModuleType | None:
    """The loaded module that reads `format_name`, or None when it is not in this build."""
    wanted = OWNER.get(format_name)
    return next((module for name, module in load(registry) if name == wanted), None)


def fast_modules(forced: str | None, registry: Registry = MODULES) -> list[ModuleType]:
    """The modules that read blocks of lines at once (`fast_lines`), in the order they are offered
    a block: the forced format's owner alone, or every one in recognition order."""
    if forced is not None:
        module = owner(forced, registry)
        return [module] if module is not None and hasattr(module, "fast_lines") else []
    return [module for _, module in load(registry) if hasattr(module, "fast_lines")]
