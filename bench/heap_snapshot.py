"""V8 heap snapshots: taken through CDP into .heapsnapshot files DevTools opens,
read in Python (instances, self and retained sizes per constructor) and
diffed into a suspect list.

Class names follow DevTools' Summary view (HeapSnapshot.js className()):
objects and native objects by their constructor name, hidden nodes as
"(system)", code as "(compiled code)", anything else as "(<type>)", e.g.
"(closure)", "(string)", "(array)".

Retained size is computed as DevTools does, on the dominator tree: a node's
retained size is its self size plus that of every node it dominates (every
node that becomes unreachable from the root without it). Weak edges do not
retain. The tree comes from the Cooper-Harvey-Kennedy iterative algorithm
("A Simple, Fast Dominance Algorithm", 2001) over a reverse-postorder DFS.
A class's retained size sums its instances that no other instance of the
same class dominates, so nested instances are not counted twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

# Never suspects: V8/Blink internals that change with any activity and have
# no user-visible constructor to blame (the same idea as fuite's list), the
# browser's bounded buffers, and the harness's own bookkeeping.
# - DOMRectReadOnly: the rects of LayoutShiftAttribution entries; the
#   connection-status text changing on each reconnect shifts layout, and the
#   performance timeline keeps those entries (at most 150).
# - BenchSocketInfo: paint.js keeps one per socket the page ever opened.
# "(closure)" and "(regexp)" stay: a leaked closure has no other name.
NOT_SUSPECTS = frozenset({
    "(array)", "(compiled code)", "(concatenated string)", "(number)", "(sliced string)", "(string)",
    "(system)", "(hidden)", "(object shape)", "InternalNode", "system / Context",
    "PerformanceEntry", "PerformanceEventTiming", "PerformanceLongTaskTiming", "PerformancePaintTiming",
    "PerformanceElementTiming", "PerformanceResourceTiming", "LayoutShift", "LayoutShiftAttribution",
    "DOMRectReadOnly", "BenchSocketInfo",
})


def take_heap_snapshot(cdp, path: str | Path) -> Path:
    """HeapProfiler.takeHeapSnapshot, its chunks streamed straight to `path`.

    CDP sends every addHeapSnapshotChunk event before the command's reply, so
    the file is complete when send() returns. The snapshot forces a GC first.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        on_chunk = lambda e: f.write(e["chunk"])  # noqa: E731
        cdp.on("HeapProfiler.addHeapSnapshotChunk", on_chunk)
        try:
            cdp.send("HeapProfiler.takeHeapSnapshot", {"reportProgress": False})
        finally:
            cdp.remove_listener("HeapProfiler.addHeapSnapshotChunk", on_chunk)
    return path


@dataclass(frozen=True)
class ClassStats:
    count: int
    self_size: int


def _class_name(kind: str, name: str) -> str:
    if kind in ("object", "native"):
        return name
    if kind == "hidden":
        return "(system)"
    if kind == "code":
        return "(compiled code)"
    return f"({kind})"


class HeapSnapshot:
    """One .heapsnapshot file: class name and self size per node, edges for retained sizes."""

    def __init__(self, path: str | Path):
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        meta = data["snapshot"]["meta"]
        fields, edge_fields = meta["node_fields"], meta["edge_fields"]
        width, self.edge_width = len(fields), len(edge_fields)
        types = meta["node_types"][fields.index("type")]
        i_type, i_name, i_size = fields.index("type"), fields.index("name"), fields.index("self_size")
        i_edges = fields.index("edge_count")
        nodes, strings = data["nodes"], data["strings"]
        self.count = len(nodes) // width
        self.names = [_class_name(types[nodes[b + i_type]], strings[nodes[b + i_name]])
                      for b in range(0, len(nodes), width)]
        self.self_sizes = nodes[i_size::width]
        self.edge_counts = nodes[i_edges::width]
        self.width = width
        self.edges = data["edges"]
        self.weak_type = meta["edge_types"][0].index("weak")
        self.i_edge_type = edge_fields.index("type")
        self.i_edge_to = edge_fields.index("to_node")
        self._idom: list[int] | None = None
        self._retained: list[int] | None = None

    def class_stats(self) -> dict[str, ClassStats]:
        counts: dict[str, int] = {}
        sizes: dict[str, int] = {}
        for name, size in zip(self.names, self.self_sizes):
            counts[name] = counts.get(name, 0) + 1
            sizes[name] = sizes.get(name, 0) + size
        return {name: ClassStats(counts[name], sizes[name]) for name in counts}

    def _successors(self) -> list[list[int]]:
        succ: list[list[int]] = [[] for _ in range(self.count)]
        edges, ew, width = self.edges, self.edge_width, self.width
        pos = 0
        for node, n_edges in enumerate(self.edge_counts):
            out = succ[node]
            for e in range(pos, pos + n_edges * ew, ew):
                if edges[e + self.i_edge_type] != self.weak_type:
                    out.append(edges[e + self.i_edge_to] // width)
            pos += n_edges * ew
        return succ

    def _dominators(self) -> None:
        """Immediate dominators (Cooper-Harvey-Kennedy) and retained sizes, root = node 0."""
        succ = self._successors()
        n = self.count
        postorder: list[int] = []
        seen = bytearray(n)
        seen[0] = 1
        stack = [(0, iter(succ[0]))]
        while stack:  # iterative DFS: a page's object graph is deeper than Python's recursion limit
            node, children = stack[-1]
            for child in children:
                if not seen[child]:
                    seen[child] = 1
                    stack.append((child, iter(succ[child])))
                    break
            else:
                stack.pop()
                postorder.append(node)
        number = [-1] * n
        for i, node in enumerate(postorder):
            number[node] = i
        preds: list[list[int]] = [[] for _ in range(n)]
        for node in postorder:
            for child in succ[node]:
                preds[child].append(node)
        idom = [-1] * n
        idom[0] = 0

        def intersect(a: int, b: int) -> int:
            while a != b:
                while number[a] < number[b]:
                    a = idom[a]
                while number[b] < number[a]:
                    b = idom[b]
            return a

        reverse = postorder[-2::-1]  # reverse postorder without the root
        changed = True
        while changed:
            changed = False
            for node in reverse:
                new = -1
                for p in preds[node]:
                    if idom[p] != -1:
                        new = p if new == -1 else intersect(p, new)
                if new != idom[node]:
                    idom[node] = new
                    changed = True
        retained = list(self.self_sizes)
        for node in postorder[:-1]:  # dominated nodes come before their dominator in postorder
            retained[idom[node]] += retained[node]
        self._idom, self._retained = idom, retained

    def retained_by_class(self, names) -> dict[str, int]:
        """Retained size of each named class: instances not dominated by another of its kind."""
        if self._idom is None:
            self._dominators()
        idom, retained = self._idom, self._retained
        wanted = set(names)
        out = {name: 0 for name in wanted}
        for node, name in enumerate(self.names):
            if name not in wanted or idom[node] == -1:
                continue
            up = idom[node]
            while up != 0 and self.names[up] != name:
                up = idom[up]
            if up == 0:
                out[name] += retained[node]
        return out


def suspects(before: HeapSnapshot, after: HeapSnapshot, cycles: int) -> list[dict]:
    """Classes whose instance count grew by a positive multiple of `cycles`.

    A thing leaked once per cycle grows by exactly k * cycles between the
    snapshot after warm-up and the one after the last cycle (cycles = 7 by
    default, a prime, so chance growth rarely lands on a multiple). Each
    comes with its count, self-size and retained-size growth; sorted by
    retained-size growth, largest first.
    """
    start_stats, end_stats = before.class_stats(), after.class_stats()
    found = []
    for name, end in end_stats.items():
        start = start_stats.get(name, ClassStats(0, 0))
        grew = end.count - start.count
        if grew > 0 and grew % cycles == 0 and name not in NOT_SUSPECTS:
            found.append((name, start, end, grew))
    names = [f[0] for f in found]
    retained_before, retained_after = before.retained_by_class(names), after.retained_by_class(names)
    out = [{"constructor": name, "count_before": start.count, "count_after": end.count,
            "count_growth": grew, "per_cycle": grew // cycles,
            "self_size_growth_bytes": end.self_size - start.self_size,
            "retained_size_growth_bytes": retained_after[name] - retained_before[name]}
           for name, start, end, grew in found]
    out.sort(key=lambda s: (-s["retained_size_growth_bytes"], -s["count_growth"], s["constructor"]))
    return out
