"""bench history: a store of results across commits, a trend report, and change detection.

    location.py    where the store is (--db, [tool.bench] history, .bench/history.sqlite)
    migrations.py  the schema, one numbered step per version
    store.py       open (WAL, busy timeout, migrate), add a run, read runs and metric values
    git_info.py    commit and branch defaults from git or CI variables
    record.py      a results file -> one stored run
    series.py      per-metric series of the runs of one branch and environment
    changes.py     the change-detection statistics (pure functions)
    show.py, report.py, trend_plots.py, check.py   the subcommands' output
    cli.py         argparse wiring: `bench history ...` and `bench ui --history`

Docs: docs/history.md.
"""
