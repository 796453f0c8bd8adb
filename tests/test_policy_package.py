"""The shape of engine/policy/: its modules import each other in one direction, stay small and say why.

An import circle (the loader importing validation, validation importing the loader back inside a
function) worked only because one side imported lazily; these tests read every import, lazy ones
included, so a circle cannot come back unnoticed.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.test_static_checks import ROOT

POLICY = ROOT / "k8saudit_tui" / "engine" / "policy"
PACKAGE = "k8saudit_tui.engine.policy"
MODULES = sorted(POLICY.glob("*.py"))


def _policy_imports(path: Path) -> set[str]:
    """Modules of the policy package that `path` imports, at the top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == PACKAGE:
                found.update(alias.name for alias in node.names)
            elif node.module.startswith(PACKAGE + "."):
                found.add(node.module.removeprefix(PACKAGE + ".").split(".")[0])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(PACKAGE + "."):
                    found.add(alias.name.removeprefix(PACKAGE + ".").split(".")[0])
    found.discard(path.stem)
    return found


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A circle of imports in `graph` as the list of its modules, or None."""
    state: dict[str, str] = {}

    def visit(module: str, path: list[str]) -> list[str] | None:
        state[module] = "open"
        for target in sorted(graph.get(module, ())):
            if state.get(target) == "open":
                return [*path[path.index(target) :], target] if target in path else [module, target]
            if target not in state:
                found = visit(target, [*path, target])
                if found:
                    return found
        state[module] = "done"
        return None

    for module in sorted(graph):
        if module not in state:
            found = visit(module, [module])
            if found:
                return found
    return None


def test_cycle_finder_finds_a_lazy_circle() -> None:
    # the circle this package had: loader -> validation -> loader (the latter inside a function)
    assert _cycle({"loader": {"validation"}, "validation": {"loader"}}) == ["loader", "validation", "loader"]
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_policy_modules_import_each_other_in_one_direction() -> None:
    graph = {path.stem: _policy_imports(path) for path in MODULES}
    assert graph["validation"] >= {"goquote", "source"}  # the reader sees lazy and top imports alike
    assert _cycle(graph) is None
