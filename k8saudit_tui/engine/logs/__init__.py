"""Audit logs: find the files, split them into lines, decode events, rebuild what the apiserver saw."""
