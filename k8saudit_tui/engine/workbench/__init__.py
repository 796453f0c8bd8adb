"""The policy workbench: what a policy change does to real traffic (changes, security classes, drift)."""
