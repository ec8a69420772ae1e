"""Statistics: pure functions over raw samples, no I/O."""
