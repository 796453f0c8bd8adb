"""The policy workbench: what a policy does to a real log, in events and in bytes (issue 13).

Why a package of its own: `apply` (the log as kube-apiserver running a policy would have written
it), the byte cost built on it, and the comparison of two policies all answer "what would this
policy do to my traffic" from the same per-event decision, `apply.apply_line`; nothing here holds
a store or a UI.
"""
