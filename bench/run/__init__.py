"""Run: a browser through scenarios, repetitions and unmeasured passes."""
