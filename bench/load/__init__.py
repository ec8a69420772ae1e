"""Load on the chat server itself: `bench throughput` and `bench connections`.

The coordinator (throughput.py, connections.py) plans the run and reads the
results; worker processes (workers.py, agent.py) hold the WebSocket
connections and keep to the schedule, so the generator is never the limit.
docs/metrics.md, "server side".
"""
