"""The policy workbench: what a policy change does to real traffic, its cost and its coverage.

Why a package of its own: `apply` (the log as kube-apiserver running a policy would have written
it) and the byte cost built on it (`cost`) answer "what would this policy write" from the same
per-event decision, `apply.apply_line`; `changes`, `security` and `drift` compare two policies, or
a policy and the recorder, over a store's verdict columns; `shadow` reads a policy alone. Nothing
here holds a UI.
"""
