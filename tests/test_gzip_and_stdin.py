"""Gzip is recognised by its magic number, never by its name, on every input path; `-` is stdin,
for the loader, the streaming commands and `validate`."""

from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from k8saudit_tui.cli import main
from k8saudit_tui.commands.common import open_log
from k8saudit_tui.engine.logs.sources import expand_sources, is_gzip
from k8saudit_tui.engine.store import StoreLoader
from tests.auditlog_helpers import event, line
from tests.conftest import DATA

REPO = Path(__file__).resolve().parent.parent
LINES = [line(event(n)) for n in range(20)]
TEXT = b"\n".join(LINES) + b"\n"
POLICY = "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n  - level: Metadata\n"


@pytest.fixture
def misnamed(tmp_path: Path) -> tuple[Path, Path]:
    """A compressed rotation without `.gz` (`audit.log.1`) and a plain file that ends in `.gz`."""
    compressed = tmp_path / "audit.log.1"
    compressed.write_bytes(gzip.compress(TEXT))
    plain = tmp_path / "plain.log.gz"
    plain.write_bytes(TEXT)
    return compressed, plain


def test_is_gzip_reads_the_magic_number(misnamed: tuple[Path, Path], tmp_path: Path) -> None:
    compressed, plain = misnamed
    assert is_gzip(str(compressed)) and not is_gzip(str(plain))
    assert not is_gzip(str(tmp_path / "missing"))


def test_the_loader_decompresses_by_content_not_by_name(misnamed: tuple[Path, Path]) -> None:
    for path in misnamed:
        store = StoreLoader(expand_sources([str(path)]), workers=1).load_all()
        assert [store.raw(row) for row in range(len(store))] == LINES
        assert not store.problems


def test_gzip_on_stdin_is_decompressed_for_the_loader() -> None:
    [source] = expand_sources(["-"], stdin=io.BytesIO(gzip.compress(TEXT)))
    assert source.name == "<stdin>" and source.spooled and source.problem is None
    store = StoreLoader([source], workers=1).load_all()
    assert [store.raw(row) for row in range(len(store))] == LINES


def test_open_log_decompresses_by_content(misnamed: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    for path in misnamed:
        with open_log(str(path)) as stream:
            assert stream.read() == TEXT
    for data in (TEXT, gzip.compress(TEXT)):
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
        with open_log("-") as stream:
            assert stream.read() == TEXT


def test_evaluate_reads_a_compressed_rotation_without_gz(
    misnamed: tuple[Path, Path], tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    for path in misnamed:
        assert main(["evaluate", "--policy", str(policy), str(path)]) == 0
        rows = [json.loads(text) for text in capsysbinary.readouterr().out.splitlines()]
        assert [row.get("level") for row in rows] == ["Metadata"] * len(LINES)


def test_validate_reads_the_policy_from_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(POLICY.encode())))
    assert main(["validate", "-"]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip() == "<stdin>: kube-apiserver would load it (1 rule)"


def test_validate_reports_stdin_problems_under_its_name(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n  - level: metadata\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(bad.encode())))
    assert main(["validate", "-"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and out[0].startswith("<stdin>:4: rules[0].level: Unsupported value")


def test_validate_from_stdin_in_a_subprocess() -> None:
    """The real entry point with a real pipe: the same verdict as for the file itself."""
    path = DATA / "policies" / "kubernetes-website-audit-policy.yaml"
    result = subprocess.run(
        [sys.executable, "-m", "k8saudit_tui", "validate", "-"],
        input=path.read_bytes(),
        capture_output=True,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert result.returncode == 0 and result.stdout == b""
    assert result.stderr.decode().strip() == "<stdin>: kube-apiserver would load it (9 rules)"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
@pytest.mark.parametrize("data", [TEXT, gzip.compress(TEXT)], ids=["plain", "gzip"])
def test_a_fifo_is_read_once(data: bytes, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    """A FIFO's bytes can be read only once: sniffing it by reopening would hang evaluate."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    writer = threading.Thread(target=fifo.write_bytes, args=(data,), daemon=True)
    writer.start()
    assert main(["evaluate", "--policy", str(policy), str(fifo)]) == 0
    writer.join(5)
    rows = [json.loads(text) for text in capsysbinary.readouterr().out.splitlines()]
    assert [row.get("level") for row in rows] == ["Metadata"] * len(LINES)
