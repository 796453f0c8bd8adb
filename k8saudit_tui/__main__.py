"""`python -m k8saudit_tui` runs the same entry point as the `k8saudit-tui` script."""

from k8saudit_tui.cli import main

raise SystemExit(main())
