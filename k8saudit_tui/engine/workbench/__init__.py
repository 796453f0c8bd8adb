"""The policy workbench: what a policy change does to real traffic, its cost and its coverage."""
