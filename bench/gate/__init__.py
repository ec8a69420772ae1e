"""Gate: budgets, the production-baseline table, comparison with a baseline run, the verdict."""
