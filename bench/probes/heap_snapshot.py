"""V8 heap snapshots: taken through CDP into .heapsnapshot files DevTools opens,
read in Python (instances, self and retained sizes per constructor) and
diffed into a suspect list.

Class names follow DevTools' Summary view (HeapSnapshot.js className()):
objects and native objects by their constructor name, hidden nodes as
"(system)", code as "(compiled code)", anything else as "(<type>)", e.g.
"(closure)", "(string)", "(array)".

Retained size, as in DevTools, is what the garbage collector could free if
the thing were gone: its own size plus every node reachable from the root
only through it (the nodes it dominates). For a class that is computed for
all its instances at once: cut every instance's outgoing edges, and the
nodes no longer reachable from the root, plus the instances themselves,
are the class's retained size. Weak edges never retain. The reachability
is a breadth-first search in scipy.sparse.csgraph (C speed), one per
suspect class and snapshot, which is far cheaper than a full dominator
tree and gives the same number for the class as a whole (nested instances
counted once).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

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


def _int_array_span(text: str, key: str) -> tuple[int, int] | None:
    """Where the numbers of the top-level `"key":[...]` array of integers lie in the text."""
    start = text.find(f'"{key}":[')
    if start < 0:
        return None
    start += len(key) + 4
    end = text.find("]", start)
    return None if end < 0 else (start, end)


def read_snapshot(text: str) -> tuple[dict, np.ndarray, np.ndarray]:
    """(everything but the two big arrays, nodes, edges) of a .heapsnapshot's JSON text.

    The nodes and edges arrays (most of the file: plain integers) are read by
    numpy's text reader, the rest by json; a file whose arrays do not have the
    length its meta says is read by json alone. About 3x faster than json for
    all of it, and no Python int per number.
    """
    spans = [_int_array_span(text, key) for key in ("nodes", "edges")]
    if None not in spans and spans[0][1] < spans[1][0]:
        (ns, ne), (es, ee) = spans
        data = json.loads(text[:ns] + text[ne:es] + text[ee:])
        nodes = np.fromstring(text[ns:ne], dtype=np.int64, sep=",")
        edges = np.fromstring(text[es:ee], dtype=np.int64, sep=",")
        meta, snapshot = data["snapshot"]["meta"], data["snapshot"]
        if (nodes.size == snapshot.get("node_count", -1) * len(meta["node_fields"])
                and edges.size == snapshot.get("edge_count", -1) * len(meta["edge_fields"])):
            return data, nodes, edges
    data = json.loads(text)
    return data, np.asarray(data["nodes"], dtype=np.int64), np.asarray(data["edges"], dtype=np.int64)


class HeapSnapshot:
    """One .heapsnapshot file: class of each node (an index into class_names), self sizes, non-weak edges."""

    def __init__(self, path: str | Path):
        data, flat_nodes, flat_edges = read_snapshot(Path(path).read_text(encoding="utf-8"))
        meta = data["snapshot"]["meta"]
        fields, edge_fields = meta["node_fields"], meta["edge_fields"]
        width = len(fields)
        types = meta["node_types"][fields.index("type")]
        strings = data["strings"]
        nodes = flat_nodes.reshape(-1, width)
        self.count = len(nodes)
        # A class name per distinct (type, name) pair, not per node: strings
        # and code share a few class names among many pairs.
        pairs, pair_of_node = np.unique(nodes[:, fields.index("type")] * len(strings) + nodes[:, fields.index("name")],
                                        return_inverse=True)
        ids: dict[str, int] = {}
        pair_class = np.asarray([ids.setdefault(_class_name(types[p // len(strings)], strings[p % len(strings)]),
                                                len(ids)) for p in pairs.tolist()], dtype=np.int64)
        self.class_names = list(ids)
        self.class_ids = pair_class[pair_of_node.reshape(-1)]
        self.self_sizes = nodes[:, fields.index("self_size")]
        edges = flat_edges.reshape(-1, len(edge_fields))
        # Edges are stored node by node, edge_count of them each.
        sources = np.repeat(np.arange(self.count), nodes[:, fields.index("edge_count")])
        strong = edges[:, edge_fields.index("type")] != meta["edge_types"][0].index("weak")
        self.sources = sources[strong]
        self.targets = edges[strong, edge_fields.index("to_node")] // width

    def class_stats(self) -> dict[str, ClassStats]:
        classes = len(self.class_names)
        counts = np.bincount(self.class_ids, minlength=classes)
        sizes = np.zeros(classes, dtype=np.int64)
        np.add.at(sizes, self.class_ids, self.self_sizes)
        return {name: ClassStats(int(counts[i]), int(sizes[i]))
                for i, name in enumerate(self.class_names) if counts[i]}

    def _reachable(self, cut: np.ndarray | None = None) -> np.ndarray:
        """Nodes reachable from the root (node 0), optionally without the out-edges of `cut` nodes."""
        from scipy.sparse import csr_matrix  # only a leak needs it; keeps `bench` quick to start
        from scipy.sparse.csgraph import breadth_first_order

        keep = slice(None) if cut is None else ~cut[self.sources]
        graph = csr_matrix((np.ones(len(self.sources[keep]), dtype=np.int8),
                            (self.sources[keep], self.targets[keep])), shape=(self.count, self.count))
        order = breadth_first_order(graph, 0, directed=True, return_predecessors=False)
        reached = np.zeros(self.count, dtype=bool)
        reached[order] = True
        return reached

    def retained_by_class(self, names) -> dict[str, int]:
        """Retained size of each named class, all its instances at once."""
        everything = self._reachable()
        index = {name: i for i, name in enumerate(self.class_names)}
        out = {}
        for name in names:
            instances = self.class_ids == index.get(name, -1)
            still = self._reachable(cut=instances)
            lost = everything & ~still
            out[name] = int(self.self_sizes[lost].sum() + self.self_sizes[instances & still].sum())
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
