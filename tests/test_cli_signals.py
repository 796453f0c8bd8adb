"""A command killed by SIGTERM or SIGHUP (a closed ssh session) removes its spools first; a signal
ignored by whoever started it (nohup) stays ignored."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import DATA


def _spooling(tmp_path: Path, ignore_hangup: bool = False) -> tuple[subprocess.Popen[bytes], Path]:
    """`export` reading a log from a pipe that stays open: it spools stdin under TMPDIR meanwhile."""
    env = dict(os.environ, TMPDIR=str(tmp_path))
    command = [sys.executable, "-m", "k8saudit_tui", "export", "--filter", "verb:get", "-", "-o", str(tmp_path / "out")]
    process = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        preexec_fn=(lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN)) if ignore_hangup else None,
    )
    assert process.stdin is not None
    process.stdin.write((DATA / "logs" / "audit2rbac-demo-2017-full.jsonl").read_bytes()[:100_000])
    process.stdin.flush()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        spools = list(tmp_path.glob("k8saudit-tui-*"))
        if spools:
            return process, spools[0]
        time.sleep(0.05)
    process.kill()
    raise AssertionError("no spool directory appeared")


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGHUP])
def test_a_killed_command_removes_its_spools_and_dies_of_the_signal(tmp_path: Path, number: int) -> None:
    process, spool = _spooling(tmp_path)
    process.send_signal(number)
    # A Python handler runs between bytecodes: a signal that lands just before the read of the open
    # pipe waits for that read to return. A hangup closes the session's pipes too; so does this.
    assert process.stdin is not None
    process.stdin.close()
    assert process.wait(timeout=30) == -number
    assert not spool.exists()


def test_a_hangup_ignored_by_nohup_stays_ignored(tmp_path: Path) -> None:
    process, spool = _spooling(tmp_path, ignore_hangup=True)
    process.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    assert process.poll() is None  # still reading its input
    assert process.stdin is not None
    process.stdin.close()
    assert process.wait(timeout=60) == 0
    assert not spool.exists()  # removed at exit, as always
