"""The hostile corpus: inputs written to break a parser, a terminal, or memory (issue #5)."""
