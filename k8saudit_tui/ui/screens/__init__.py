"""The explorer's screens: the main hub and its dialogs."""
