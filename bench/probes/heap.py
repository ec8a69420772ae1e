"""The memory probe: used JS heap and DOM counters after a forced GC (CDP).

Everything here goes through the page's CDP session, so the page runs no
script of ours to be measured (a script would allocate in the heap it reads).
"""

from __future__ import annotations

# used_bytes = V8's JS heap (usedSize) + Blink's garbage-collected C++ heap
# (embedderHeapUsedSize: DOM nodes, listeners, styles), both from
# Runtime.getHeapUsage; a DOM leak lives mostly in the second. Min over reads:
# what the page allocates between reads (timers, our own CDP calls) only ever
# adds, so the smallest read is the closest to what is really retained.
FIELDS = ("used_bytes", "js_bytes", "embedder_bytes", "documents", "nodes", "listeners")
DEFAULT_READS = 3
GC_PASSES = 2  # a second pass collects what the first one's finalizers freed


class HeapProbe:
    name = "heap"

    def __init__(self, cdp, reads: int = DEFAULT_READS):
        self.cdp = cdp
        self.reads = reads

    def collect_garbage(self) -> None:
        for _ in range(GC_PASSES):
            self.cdp.send("HeapProfiler.collectGarbage")

    def read(self) -> dict:
        """One read, no GC: Runtime.getHeapUsage and Memory.getDOMCounters."""
        heap = self.cdp.send("Runtime.getHeapUsage")
        dom = self.cdp.send("Memory.getDOMCounters")
        js, embedder = heap["usedSize"], heap.get("embedderHeapUsedSize", 0)
        return {"used_bytes": js + embedder, "js_bytes": js, "embedder_bytes": embedder, "documents": dom["documents"], "nodes": dom["nodes"],
                "listeners": dom["jsEventListeners"]}

    def sample(self) -> dict:
        """GC_PASSES forced collections, then each field's minimum over `reads` reads."""
        self.collect_garbage()
        reads = [self.read() for _ in range(self.reads)]
        return {field: min(r[field] for r in reads) for field in FIELDS}
