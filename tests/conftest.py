"""Shared test helpers: where the copied test data lives (CI has no /work/shared)."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
"""tests/data: copied policies, logs and conformance cases (attribution in tests/data/README.md)."""


@pytest.fixture
def data_dir() -> Path:
    """The tests/data directory."""
    return DATA
