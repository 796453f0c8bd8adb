"""Hypothesis strategies for policies and requests, drawn from small vocabularies so rules hit."""

from __future__ import annotations

from hypothesis import strategies as st

from k8saudit_tui.engine.model import LEVELS, STAGES, GroupResources, Policy, PolicyRule, RequestAttributes

USERS = ("alice", "bob", "system:kube-proxy", "system:serviceaccount:kube-system:x", "*", "")
GROUPS = ("system:nodes", "system:authenticated", "devs", "*")
VERBS = ("get", "list", "watch", "create", "update", "patch", "delete", "post", "*")
NAMESPACES = ("", "default", "kube-system", "foo")
API_GROUPS = ("", "apps", "rbac.authorization.k8s.io", "*")
RESOURCES = ("pods", "secrets", "deployments", "namespaces", "*")
SUBRESOURCES = ("", "log", "status", "exec", "*")
PATTERNS = ("pods", "pods/log", "pods/*", "*/status", "*", "*/*", "secrets", "deployments/scale", "namespaces")
NAMES = ("", "busybox", "kube-system", "foo")
PATHS = ("/healthz", "/healthz/ready", "/api", "/apis/apps/v1", "/metrics", "/logsfoo", "/version")
URL_PATTERNS = ("*", "/healthz*", "/healthz/*", "/api*", "/metrics", "/logs*", "/version")


def _subset(values: tuple[str, ...]) -> st.SearchStrategy[tuple[str, ...]]:
    return st.lists(st.sampled_from(values), max_size=3).map(tuple)


group_resources = st.builds(
    GroupResources,
    group=st.sampled_from(API_GROUPS),
    resources=_subset(PATTERNS),
    resource_names=_subset(NAMES),
)

rules = st.builds(
    PolicyRule,
    level=st.sampled_from(LEVELS),
    users=_subset(USERS),
    user_groups=_subset(GROUPS),
    verbs=_subset(VERBS),
    resources=st.lists(group_resources, max_size=2).map(tuple),
    namespaces=_subset(NAMESPACES),
    non_resource_urls=_subset(URL_PATTERNS),
    omit_stages=_subset(STAGES),
    omit_managed_fields=st.sampled_from((None, True, False)),
)

policies = st.builds(
    Policy,
    rules=st.lists(rules, min_size=0, max_size=6).map(tuple),
    omit_stages=_subset(STAGES),
    omit_managed_fields=st.booleans(),
)


@st.composite
def requests(draw: st.DrawFn) -> RequestAttributes:
    """A resource or non-resource request, authenticated or not."""
    username = draw(st.sampled_from((*USERS, None)))
    groups = draw(_subset(GROUPS)) if username is not None else ()
    verb = draw(st.sampled_from(VERBS))
    if draw(st.booleans()):
        return RequestAttributes(username, groups, verb, False, draw(st.sampled_from(PATHS)))
    return RequestAttributes(
        username,
        groups,
        verb,
        True,
        "/api/v1/x",
        draw(st.sampled_from(API_GROUPS)),
        draw(st.sampled_from(RESOURCES)),
        draw(st.sampled_from(SUBRESOURCES)),
        draw(st.sampled_from(NAMESPACES)),
        draw(st.sampled_from(NAMES)),
    )


FILTER_VALUES: dict[str, tuple[str, ...]] = {
    "user": ("system:kube-proxy", "~alice", "~system:serviceaccount", "/^system:node:/", "admin"),
    "group": ("system:nodes", "system:authenticated", "system:masters"),
    "verb": ("get", "list", "watch", "create", "update", "patch", "delete", "create,update"),
    "ns": ("kube-system", "default", "", "~kube"),
    "resource": ("pods", "secrets", "leases", "configmaps", "nodes", "~deploy"),
    "subresource": ("status", "log", "exec", ""),
    "name": ("~web", "/-[0-9]+$/", ""),
    "uri": ("~/api/v1", "/watch=true/", "~healthz"),
    "code": ("2xx", "4xx", "5xx", "200", "201", "403,404"),
    "stage": ("RequestReceived", "ResponseComplete", "ResponseStarted"),
    "recorded": ("Metadata", "Request", "RequestResponse", "None"),
    "level": ("None", "Metadata", "Request", "RequestResponse"),
    "rule": ("0", "1", "2", "3", "none"),
    "written": ("yes", "no"),
    "candidate": ("None", "Metadata", "RequestResponse"),
    "change": ("same", "up", "down", "dropped", "added"),
    "latency": (">1ms", "<10ms", ">=1s"),
    "ua": ("~kubectl", "~kube-proxy"),
}
"""Field values of the filter language that hit rows of the sample generator's logs (and some that
do not), for properties over whole filters."""

BARE_WORDS = ("kube", "lease", "a", "secret", "web", "node")


@st.composite
def filter_terms(draw: st.DrawFn, fields: tuple[str, ...] = tuple(FILTER_VALUES)) -> str:
    """One term: `field:value` (maybe negated) over `fields`, or a bare word."""
    if draw(st.integers(0, 5)) == 0:
        return draw(st.sampled_from(BARE_WORDS))
    field = draw(st.sampled_from(fields))
    value = draw(st.sampled_from(FILTER_VALUES[field]))
    quoted = '""' if value == "" else value
    return ("!" if draw(st.booleans()) else "") + f"{field}:{quoted}"


@st.composite
def filters(draw: st.DrawFn, fields: tuple[str, ...] = tuple(FILTER_VALUES)) -> str:
    """A whole filter: up to three alternatives (`|`) of up to three terms over `fields`; "" too."""
    alternatives = draw(st.lists(st.lists(filter_terms(fields), min_size=1, max_size=3).map(" ".join), max_size=3))
    return " | ".join(alternatives)


# ------------------------------------------------------------------------------ filters

STREAM_FILTER_VALUES: dict[str, tuple[str, ...]] = {
    "verb": ("get", "list", "watch", "create", "update", "patch", "delete"),
    "user": ("alice@example.com", "system:apiserver", "system:anonymous", "bob", "system:kube-scheduler"),
    "ns": ("default", "kube-system", "argocd", '""', "prod"),
    "resource": ("pods", "pods/log", "secrets", "leases", "configmaps", "pods/"),
    "name": ("web-1", "kube-scheduler", '""'),
    "stage": ("RequestReceived", "ResponseComplete", "ResponseStarted"),
    "code": ("200", "4xx", "201,403", "5xx"),
    "group": ("system:authenticated", "system:masters", "system:nodes"),
    "ua": ("kubectl", "kube-scheduler"),
    "uri": ('"/api/v1/namespaces/default/pods"', '"/healthz"'),  # quoted: a bare `/` opens a regex
    "apigroup": ("apps", '""', "coordination.k8s.io"),
    "level": ("None", "Metadata", "Request", "RequestResponse"),
    "rule": ("0", "1", "2", "none"),
    "written": ("yes", "no"),
    "drift": ("yes", "no"),
    "candidate": ("None", "Metadata", "RequestResponse"),
    "change": ("same", "up", "down", "dropped", "added"),
}
"""Values the generated log (k8saudit_tui.sample) holds, and a few it does not."""

TIME_VALUES = ("-30s..", "-2m..-1m", "..-1m", "09:00..09:00:20", "2026-11-20", "2026-11-20T09:00:10Z..", "-1h..")
LATENCY_VALUES = (">1s", "<=100ms", ">=5ms", "<2.5s", "=0ns")


@st.composite
def stream_filter_terms(draw: st.DrawFn, policy: bool = True) -> str:
    """One filter term: exact, any-of, fuzzy, regex, negated, a bare word, a time range, a latency."""
    kind = draw(st.sampled_from(("exact", "exact", "fuzzy", "regex", "word", "time", "latency")))
    negate = "!" if draw(st.integers(0, 4)) == 0 else ""
    if kind == "time":
        return f"{negate}time:{draw(st.sampled_from(TIME_VALUES))}"
    if kind == "latency":
        return f"{negate}latency:{draw(st.sampled_from(LATENCY_VALUES))}"
    if kind == "word":
        return negate + draw(st.sampled_from(("alice", "kube", "pods", "lease", "secret", "sched", "xyz")))
    names = [name for name in STREAM_FILTER_VALUES if policy or name not in ("level", "rule", "written", "drift")]
    names = [name for name in names if policy or name not in ("candidate", "change")]
    name = draw(st.sampled_from(names))
    values = STREAM_FILTER_VALUES[name]
    if kind == "fuzzy" and name in ("verb", "user", "ns", "name", "ua", "uri", "resource"):
        # neither quoted nor led by `/`: `~/healthz` opens a regex that runs to the next term's `/`
        return f"{negate}{name}:~{draw(st.sampled_from(values)).strip(chr(34) + '/') or 'a'}"
    if kind == "regex" and name in ("verb", "user", "ns", "name", "ua", "uri"):
        return f"{negate}{name}:/{draw(st.sampled_from(('^sys', 'e$', 'a.i', '-')))}/"
    chosen = draw(st.lists(st.sampled_from(values), min_size=1, max_size=2, unique=True))
    if len(chosen) > 1 and '""' in chosen:  # the empty value is written alone (`ns:""`); `a,""` is a syntax error
        chosen.remove('""')
    return f"{negate}{name}:{','.join(chosen)}"


@st.composite
def stream_filters(draw: st.DrawFn, policy: bool = True) -> str:
    """Filter text: one to three alternatives of one to three terms (or the empty filter)."""
    if draw(st.integers(0, 9)) == 0:
        return ""
    groups = draw(st.lists(st.lists(stream_filter_terms(policy), min_size=1, max_size=3), min_size=1, max_size=3))
    return " | ".join(" ".join(group) for group in groups)
