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


@pytest.fixture
def data_dir() -> Path:
    """The tests/data directory."""
    return DATA
