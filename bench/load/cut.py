"""How long a load worker whose command is cut short (Ctrl-C, SIGTERM: workers.py, agent.py) still waits
for messages on their way before it answers with its counts. Shared by the worker, which waits, and the
throughput report, which says how long it waited."""

CUT_QUIET_S = 0.2  # until no frame came for this long,
CUT_DRAIN_S = 1.0  # ...or this long after the cut at most (never more than 2 x --late-ms)
