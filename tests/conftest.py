"""Shared test helpers: where the copied test data lives (CI has no /work/shared)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import settings

DATA = Path(__file__).parent / "data"
"""tests/data: copied policies, logs and conformance cases (attribution in tests/data/README.md)."""

settings.register_profile("shared-machine", deadline=None)
settings.load_profile("shared-machine")
"""No per-example deadline: CI shares two cores with the UI tests, and a slow example is not a wrong one."""


@pytest.fixture(autouse=True)
def private_cache_directory(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets an empty cache directory of its own: no test reads or fills the user's
    ~/.cache/k8saudit-tui (store indexes, engine/store/cache.py), and none sees another's."""
    directory = tmp_path_factory.mktemp("xdg-cache")
    monkeypatch.setenv("XDG_CACHE_HOME", str(directory))
    return directory


@pytest.fixture
def data_dir() -> Path:
    """The tests/data directory."""
    return DATA
