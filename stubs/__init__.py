"""Stand-in Sun JES installations for tests and the demo."""
