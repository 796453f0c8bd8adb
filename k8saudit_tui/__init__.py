"""k8saudit-tui: which audit policy rule produced every Kubernetes audit event, in a terminal."""

__version__ = "0.1.0"
