"""`python -m k8saudit_tui.sample`: write a generated audit log (see `main`)."""

import sys

from k8saudit_tui.sample import main

sys.exit(main())
