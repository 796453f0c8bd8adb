"""The engine and the headless commands never import Textual or Rich (start-up time in scripts)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import k8saudit_tui.commands
import k8saudit_tui.engine

FORBIDDEN = ("textual", "rich", "k8saudit_tui.ui")


def _modules(package: object) -> list[str]:
    return [info.name for info in pkgutil.iter_modules(package.__path__, package.__name__ + ".")]  # type: ignore[attr-defined]


def test_engine_and_commands_do_not_import_the_ui() -> None:
    modules = _modules(k8saudit_tui.engine) + _modules(k8saudit_tui.commands) + ["k8saudit_tui.cli"]
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules\n"
        "             if m.split('.')[0] in ('textual', 'rich') or m.startswith('k8saudit_tui.ui')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
    assert len(modules) > 10


def test_a_headless_command_does_not_load_textual() -> None:
    """validate and evaluate stream: they need neither the UI nor numpy and the store."""
    code = (
        "import sys\nfrom k8saudit_tui.cli import main\n"
        "main(['validate', '/nonexistent.yaml'])\n"
        "import k8saudit_tui.commands.evaluate\n"
        "print([m for m in sys.modules if m.split('.')[0] in ('textual', 'rich', 'numpy')])\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip().splitlines()[-1] == "[]"
