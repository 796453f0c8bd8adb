"""The headless engine: policy model, validation, evaluation, explanation, log reading, store, export.

Nothing in this package imports Textual or Rich: the CLI and tests use it without a terminal.
"""
