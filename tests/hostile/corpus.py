"""Generate the hostile corpus: broken log lines, attacker strings, bad policies, awkward files.

Run `python -m tests.hostile.corpus DIR` to write every case to DIR for manual runs (the TUI, the
CLI); the tests call the same functions and write into a temporary directory.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

HOSTILE_STRINGS: dict[str, str] = {
    "markup-bold": "[b]root[/b]",
    "markup-close": "[/]",
    "markup-link": "[link=https://evil.example]click[/link]",
    "markup-style": "[red on white]x[/red on white][@click=app.quit]q[/]",
    "ansi-colour": "\x1b[31mred\x1b[0m",
    "ansi-clear": "\x1b[2J\x1b[H",
    "ansi-cursor": "\x1b[10A\x1b[5Cmoved",
    "osc-title": "\x1b]0;pwned\x07",
    "osc-52": "\x1b]52;c;cm0gLXJmIH4=\x07",
    "osc-8": "\x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\",
    "c0": "a\x00b\x01c\x07d\x08e\x0bf\x0cg\x7f",
    "c1": "a\x85b\x9bc\x9d",
    "newlines": "line1\nline2\rline3\r\n",
    "tab": "a\tb",
    "bidi": "user\u202egnp.exe\u202c",
    "zero-width": "ad\u200bmin\u200d\ufeff",
    "cjk": "管理者ユーザー",
    "emoji": "👩‍💻🔥" * 10,
    "long": "x" * 5000,
}
"""Strings an attacker controls in an audit event: user names, URIs, user agents, object names."""


def event(**fields: Any) -> dict[str, Any]:
    """A valid audit.k8s.io/v1 Event; keyword arguments replace fields (None removes one)."""
    data: dict[str, Any] = {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": "Metadata",
        "auditID": "00000000-0000-0000-0000-000000000001",
        "stage": "ResponseComplete",
        "requestURI": "/api/v1/namespaces/default/pods/web",
        "verb": "get",
        "user": {"username": "alice", "groups": ["system:authenticated"]},
        "sourceIPs": ["10.0.0.1"],
        "userAgent": "kubectl/v1.31.0",
        "objectRef": {"resource": "pods", "namespace": "default", "name": "web", "apiVersion": "v1"},
        "responseStatus": {"metadata": {}, "code": 200},
        "requestReceivedTimestamp": "2026-11-20T10:00:00.000000Z",
        "stageTimestamp": "2026-11-20T10:00:00.001000Z",
    }
    data.update(fields)
    return {key: value for key, value in data.items() if value is not None}


def line(**fields: Any) -> bytes:
    return orjson.dumps(event(**fields))


def hostile_string_events() -> Iterator[bytes]:
    """One event per hostile string, the string in every displayed field."""
    for index, (name, value) in enumerate(HOSTILE_STRINGS.items()):
        yield line(
            auditID=f"hostile-{index:02d}-{name}",
            user={"username": value, "groups": [value]},
            impersonatedUser={"username": value},
            requestURI=f"/api/v1/namespaces/{value}/pods/{value}",
            userAgent=value,
            sourceIPs=[value],
            objectRef={"resource": "pods", "namespace": value, "name": value, "apiVersion": "v1"},
            annotations={"authorization.k8s.io/reason": value},
        )


WRONG_TYPES: dict[str, dict[str, Any]] = {
    "user-as-string": {"user": "bob"},
    "groups-as-object": {"user": {"username": "bob", "groups": {"a": 1}}},
    "object-ref-as-list": {"objectRef": ["pods"]},
    "verb-as-number": {"verb": 7},
    "stage-unknown": {"stage": "Finished"},
    "timestamps-unparseable": {"stageTimestamp": "yesterday", "requestReceivedTimestamp": 12},
    "code-as-string": {"responseStatus": {"code": "200"}},
    "source-ips-as-string": {"sourceIPs": "10.0.0.1"},
}


def broken_lines() -> Iterator[tuple[str, bytes]]:
    """(kind, line) for every kind of line that is not a readable Event."""
    good = line()
    yield "truncated", good[: len(good) // 2]
    yield "binary", bytes(b for b in range(256) if b != 0x0A)  # one line: no newline byte
    yield "nul-bytes", b"\x00" * 64
    yield "invalid-utf8", good.replace(b"alice", b"al\xffice")
    yield "lone-surrogate", good.replace(b"alice", b"al\\ud800ice")
    yield "not-an-object", b"[1, 2, 3]"
    yield "a-string", b'"just a string"'
    yield "not-an-event", b'{"kind": "Pod", "apiVersion": "v1"}'
    yield "missing-fields", b'{"kind": "Event", "apiVersion": "audit.k8s.io/v1"}'
    for kind, fields in WRONG_TYPES.items():
        yield kind, line(**fields)


def mixed_log() -> tuple[bytes, int, int, int]:
    """A log interleaving valid events with every broken kind; (bytes, valid, broken, blank)."""
    out: list[bytes] = ["\ufeff".encode() + line(auditID="first-with-bom")]
    valid, broken, blank = 1, 0, 0
    for index, (_, bad) in enumerate(broken_lines()):
        out.append(bad)
        out.append(line(auditID=f"valid-{index}") + b"\r")  # CRLF ending
        broken += 1
        valid += 1
    out.extend([b"", b"   \t"])
    blank += 2
    out.append(line(auditID="cut-mid-line")[:40])  # the file ends mid-line, no newline
    broken += 1
    return b"\n".join(out), valid, broken, blank


def deep_body(depth: int) -> bytes:
    """A valid event whose requestObject nests `depth` levels deep."""
    body = b"0"
    body = b'{"a":' * depth + body + b"}" * depth
    return line(auditID="deep").replace(b'"level":"Metadata"', b'"level":"Request","requestObject":' + body)


def huge_line(size: int) -> bytes:
    """A valid event with a body of about `size` bytes (RequestResponse of a big list)."""
    filler = b'"' + b"x" * size + b'"'
    return line(auditID=f"huge-{size}").replace(
        b'"level":"Metadata"', b'"level":"RequestResponse","responseObject":' + filler
    )


def distinct_users(count: int) -> Iterator[bytes]:
    """`count` events with as many distinct user names (dictionary encoding under stress)."""
    template = line(user={"username": "USER", "groups": ["g"]})
    for index in range(count):
        yield template.replace(b'"USER"', b'"user-%d"' % index)


ALIAS_BOMB = """\
apiVersion: audit.k8s.io/v1
kind: Policy
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
rules:
  - level: Metadata
    users: *i
"""

HOSTILE_POLICIES: dict[str, bytes] = {
    "alias-bomb": ALIAS_BOMB.encode(),
    "deep-nesting": b"apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n  users: "
    + b"[" * 5000
    + b"]" * 5000
    + b"\n",
    "duplicate-keys": b"apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: None\n  level: Metadata\n",
    "tabs": b"apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n\t- level: Metadata\n",
    "non-utf8": b'apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n  users: ["\xff\xfe"]\n',
    "number-for-string": b"apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n  users: [123]\n",
    "markup-and-escapes": (
        b"apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n"
        b'- level: "[b]Metadata\\e[31m"\n  users: ["[/]\\e]52;c;aGk=\\a"]\n'
    ),
    "binary": bytes(range(256)) * 4,
    "empty": b"",
    "not-a-mapping": b"- just\n- a list\n",
}


def many_rules_policy(count: int) -> bytes:
    rules = "".join(f"- level: Metadata\n  users: [user-{index}]\n" for index in range(count))
    return f"apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n{rules}".encode()


def write_corpus(directory: Path) -> None:
    """Write every case as a file under `directory` (for manual runs of the TUI and the CLI)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "hostile-strings.log").write_bytes(b"\n".join(hostile_string_events()) + b"\n")
    (directory / "mixed.log").write_bytes(mixed_log()[0])
    (directory / "deep.log").write_bytes(deep_body(10_000) + b"\n")
    (directory / "huge-10mb.log").write_bytes(line() + b"\n" + huge_line(10 << 20) + b"\n" + line() + b"\n")
    for name, text in HOSTILE_POLICIES.items():
        (directory / f"policy-{name}.yaml").write_bytes(text)
    (directory / "policy-10000-rules.yaml").write_bytes(many_rules_policy(10_000))


if __name__ == "__main__":
    write_corpus(Path(sys.argv[1] if len(sys.argv) > 1 else "hostile-corpus"))
