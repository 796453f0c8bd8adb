"""Headless commands (`validate`, `evaluate`, `explain`, `export`): engine only, no Textual import."""
