"""Results: flat metrics with raw samples, the metric catalog, the environment (schema bench/1)."""
