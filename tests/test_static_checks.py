"""What CI checks besides behaviour: lint, formatting, types and the import contract.

They run here so that the README's one test command (`pytest`) checks everything CI checks. The
settings live in `pyproject.toml`.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)


def _tool(name: str) -> str:
    """The tool installed beside this interpreter (the test extra installs it), else on PATH."""
    beside = Path(sys.executable).with_name(name)
    found = str(beside) if beside.exists() else shutil.which(name)
    assert found, f"{name} is not installed: pip install '.[test]'"
    return found


def test_ruff_lint() -> None:
    result = _run(_tool("ruff"), "check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format() -> None:
    result = _run(_tool("ruff"), "format", "--no-cache", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_types() -> None:
    """mypy as configured in pyproject.toml: strict for the engine, checked everywhere else."""
    result = _run(_tool("mypy"), "--no-incremental")
    assert result.returncode == 0, result.stdout + result.stderr


def test_import_contracts() -> None:
    result = _run(_tool("lint-imports"), "--no-cache")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_modules_are_small_and_state_their_contract() -> None:
    """The brief: modules under 400 lines, each opening with a docstring that states its contract."""
    modules = sorted((ROOT / "k8saudit_tui").rglob("*.py"))
    assert len(modules) > 50
    too_long = [str(m.relative_to(ROOT)) for m in modules if len(m.read_text(encoding="utf-8").splitlines()) > 400]
    undocumented = [str(m.relative_to(ROOT)) for m in modules if not ast.get_docstring(ast.parse(m.read_text()))]
    assert too_long == []
    assert undocumented == []
