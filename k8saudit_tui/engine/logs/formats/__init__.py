"""Audit logs as clouds and log shippers deliver them: the one table of formats and the contract
every format module keeps (see ../shared design `cloud-formats.md`, summarised in the README).

Why a table: a format's name (what `--format NAME` takes), what it is called on screen, the
provider, and what it keeps of the Event (exact, derived, lost) are needed by the reader, the
detail pane, the explain trace, the lossy evaluation and the README; listed once here.

The contract of a format module (`eks`, `aks`, `gke`, `shippers`):
- `recognise(record) -> bool` for one decoded JSON record (a dict), in the order of `FORMATS`;
  recognition is per record, never per file (a destination mixes categories and formats).
- `unwrap(record, line) -> list[Unwrapped | Damaged]`: the events inside one record (an envelope
  may carry several: `logEvents[]`, `records[]`), each with the record's 1-based starting line in
  the source file. Never raises for bad data: what cannot be read is a `Damaged` with its reason.
- An `Unwrapped.event` is one Event JSON object (no newline). Where the format carries the Event's
  own text (a CloudWatch `message`, an AKS `properties.log` string) it is that text byte for byte
  (a trailing newline removed); where it does not (GKE, an AKS `properties.log` object) it is our
  serialisation of the Event we rebuilt, and the format's `FormatInfo.lost`/`derived` say so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

Provenance = Literal["raw", "unwrapped", "reconstructed"]
"""raw: the file holds Event lines; unwrapped: the Event text was inside an envelope (exact);
reconstructed: no Event inside, we rebuilt one (fields are derived or lost, see FormatInfo)."""


@dataclass(frozen=True, slots=True)
class FormatInfo:
    """One input format. `lost` and `derived` name Event fields (dotted, as the policy semantics
    and the filter language spell them: `user.groups`, `stage`, `requestURI`); `code` is the
    per-event byte the store keeps (0 is a raw Event line)."""

    name: str
    code: int
    label: str
    provider: str
    provenance: Provenance
    lost: tuple[str, ...] = ()
    derived: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True, slots=True)
class Unwrapped:
    """One Event taken out of a record: its JSON text, the format it came in, and the 1-based line
    of the source file where its record starts."""

    event: bytes
    format: str
    line: int


@dataclass(frozen=True, slots=True)
class Damaged:
    """A record (or an event inside one) that cannot give an Event: the reason names the field and,
    where it could be recovered, the auditID, verb and URI, so nothing is dropped silently."""

    line: int
    field: str
    reason: str


_GKE_LOST = ("stage", "user.groups", "user.uid", "user.extra", "impersonatedUser", "requestURI.query")
_GKE_DERIVED = (
    "auditID",
    "level",
    "verb",
    "requestURI",
    "objectRef",
    "responseStatus.code",
    "sourceIPs",
    "requestReceivedTimestamp",
    "stageTimestamp",
    "requestObject",
    "responseObject",
)

FORMATS: tuple[FormatInfo, ...] = (
    FormatInfo("raw", 0, "audit.k8s.io Event lines", "kube-apiserver", "raw"),
    FormatInfo("eventlist", 1, "EventList or JSON array of Events", "webhook backend", "unwrapped"),
    FormatInfo("cri", 2, "CRI container log (TS stdout F|P ...)", "container runtime", "unwrapped"),
    FormatInfo("docker", 3, 'Docker / Fluent Bit / Fluentd record ({"log": ...})', "log shipper", "unwrapped"),
    FormatInfo("openshift", 4, "OpenShift node-logs (hostname {json})", "OpenShift", "unwrapped"),
    FormatInfo("cloudwatch", 5, "CloudWatch Logs events (filter-log-events, get-log-events)", "EKS", "unwrapped"),
    FormatInfo("cloudwatch-insights", 6, "CloudWatch Logs Insights results (JSON, CSV)", "EKS", "unwrapped"),
    FormatInfo("cloudwatch-s3", 7, "CloudWatch S3 export (TIMESTAMP {json})", "EKS", "unwrapped"),
    FormatInfo("cloudwatch-subscription", 8, "CloudWatch subscription / Firehose payload", "EKS", "unwrapped"),
    FormatInfo("aks-diagnostic", 9, "Azure diagnostic record (kube-audit, kube-audit-admin)", "AKS", "unwrapped"),
    FormatInfo(
        "aks-loganalytics",
        10,
        "Log Analytics AKSAudit / AKSAuditAdmin row",
        "AKS",
        "unwrapped",
        lost=("impersonatedUser",),
        note="columns renamed back to the Event's keys",
    ),
    FormatInfo("aks-azurediagnostics", 11, "Log Analytics AzureDiagnostics row (log_s)", "AKS", "unwrapped"),
    FormatInfo(
        "gke",
        12,
        "Cloud Logging LogEntry (protoPayload AuditLog)",
        "GKE",
        "reconstructed",
        lost=_GKE_LOST,
        derived=_GKE_DERIVED,
        note="GKE never exports the apiserver's Event; this one is rebuilt from the LogEntry",
    ),
)
"""Every format, in recognition order after the raw Event (the order of cloud-formats.md §1)."""

BY_NAME: Mapping[str, FormatInfo] = MappingProxyType({info.name: info for info in FORMATS})
BY_CODE: tuple[FormatInfo, ...] = tuple(sorted(FORMATS, key=lambda info: info.code))
assert [info.code for info in BY_CODE] == list(range(len(FORMATS))), "format codes are 0..n-1"
