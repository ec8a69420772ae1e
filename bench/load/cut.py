"""The times of a load command cut short (Ctrl-C, SIGTERM: workers.py, agent.py): how long the coordinator
waits for the workers' counts, and how long a cut worker still waits for messages on their way before it
answers. Shared by the pool, the worker and the reports, which say how long they waited."""

CUT_S = 5.0        # cut(): how long a worker may take to end its command and answer

CUT_QUIET_S = 0.2  # until no frame came for this long,
CUT_DRAIN_S = 1.0  # ...or this long after the cut at most (never more than 2 x --late-ms)
