"""The Textual explorer: screens, widgets and the session that is its one door to the engine."""
