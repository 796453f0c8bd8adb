"""Audit policies: read them as kube-apiserver does, validate, evaluate and explain."""
