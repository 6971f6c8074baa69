"""jescore: the pure policy core of the jesagent VCS agents (no I/O)."""
