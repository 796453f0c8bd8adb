"""The memory limit covers the process tree: workers' resident memory is counted with the parent's."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from k8saudit_tui.engine.memory import children, resident_bytes, tree_resident_mb

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc is Linux's")

_HOLD_200_MB = (
    "b = bytearray(200 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096]); print('ready', flush=True); input()"
)


def test_a_child_holding_memory_is_counted() -> None:
    before = tree_resident_mb()
    child = subprocess.Popen([sys.executable, "-c", _HOLD_200_MB], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == b"ready"
        assert child.pid in children()
        assert resident_bytes(child.pid) >= 200 * 1024 * 1024
        assert tree_resident_mb() >= before + 200
    finally:
        child.kill()
        child.wait()


def test_a_grandchild_is_counted_and_a_gone_process_is_not() -> None:
    script = (
        "import subprocess, sys; c = subprocess.Popen([sys.executable, '-c', sys.argv[1]], stdout=subprocess.PIPE,"
        " stdin=subprocess.PIPE); print(c.stdout.readline().decode().strip(), flush=True); input()"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script, _HOLD_200_MB], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert parent.stdout is not None
        assert parent.stdout.readline().strip() == b"ready"
        assert tree_resident_mb() - (resident_bytes() >> 20) >= 200
    finally:
        parent.kill()
        parent.wait()
    deadline = time.monotonic() + 5
    while parent.pid in children() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert resident_bytes(parent.pid) == 0


def test_the_tree_of_another_process_is_measured() -> None:
    child = subprocess.Popen([sys.executable, "-c", _HOLD_200_MB], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == b"ready"
        assert tree_resident_mb(child.pid) >= 200
    finally:
        child.kill()
        child.wait()
    assert tree_resident_mb(child.pid) == 0
