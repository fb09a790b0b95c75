"""Critical path (as the Jaeger UI computes it) and self time (as its Trace Statistics do).

Jaeger's walk starts at the root, descends into the last-finishing child, and on the way back
takes the last child that finished before the previous one started. The time sections it emits
tile the root's interval, so per-span critical-path times add up to the root's duration.
`critical_path_sections` is that walk, literally, for one trace (iterative). `critical_path`
computes the same numbers for all traces at once: for each parent, the chain of children the
walk visits depends only on the children's clipped intervals, so chains are found with one
sorted search and followed in waves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from traceaudit.tree import Tree

CLIENT, SERVER, PRODUCER, CONSUMER = 0, 1, 2, 3


@dataclass
class CriticalPath:
    """Per-row results (positions of the spans frame)."""

    cp_us: np.ndarray  # critical-path time of the span itself (its own sections)
    blocking: np.ndarray  # bool: in a root's subtree, not async, overlapping its parent
    clip_start: np.ndarray
    clip_end: np.ndarray
    asynchronous: np.ndarray  # bool: under a root but below a PRODUCER → CONSUMER link
    root_of: np.ndarray  # analysed root row of the span's trace (-1 if none)


def critical_path(tree: Tree, start: np.ndarray, duration: np.ndarray, kind: np.ndarray,
                  roots: np.ndarray) -> CriticalPath:
    """Critical-path time of every span under `roots` (one row per analysed trace)."""
    n = len(start)
    end = start + duration
    is_root = np.zeros(n, dtype=bool)
    is_root[roots] = True
    root_of = np.full(n, -1, dtype=np.int64)
    root_of[roots] = roots
    blocking = is_root.copy()
    asynchronous = np.zeros(n, dtype=bool)
    cs = np.where(is_root, start, 0)
    ce = np.where(is_root, end, 0)
    first = int(tree.depth[roots].min()) if len(roots) else tree.n_levels
    # top-down: inherit the root, clip to the parent's clipped interval, drop what falls outside
    for d in range(first + 1, tree.n_levels):
        rows = tree.level(d)
        p = tree.parent[rows]
        inherit = (root_of[p] >= 0) & (root_of[rows] < 0)
        rows, p = rows[inherit], p[inherit]
        root_of[rows] = root_of[p]
        detached = (kind[rows] == CONSUMER) & (kind[p] == PRODUCER)
        asynchronous[rows] = asynchronous[p] | (detached & blocking[p])
        own_start, parent_start, parent_end = start[rows], cs[p], ce[p]
        timed = own_start > 0
        s = np.where(timed, own_start, parent_start)  # no timestamp: the parent's start
        e = np.where(timed, end[rows], parent_start)
        keep = blocking[p] & ~detached & (s < parent_end) & (e > parent_start)
        blocking[rows] = keep
        cs[rows] = np.where(keep, np.maximum(s, parent_start), 0)
        ce[rows] = np.where(keep, np.minimum(e, parent_end), 0)
    children = np.flatnonzero(blocking & ~is_root)
    cp = np.zeros(n, dtype=np.int64)
    if not len(roots):
        return CriticalPath(cp, blocking, cs, ce, asynchronous, root_of)
    chain = _chains(children, tree.parent[children], cs, ce, start)
    on = is_root.copy()
    for d in range(first + 1, tree.n_levels):
        rows = tree.level(d)
        on[rows] = chain[rows] & on[tree.parent[rows]]
    own = np.where(on, ce - cs, 0)
    on_children = np.flatnonzero(on & ~is_root)
    covered = np.bincount(tree.parent[on_children], weights=(ce - cs)[on_children], minlength=n)
    cp = (own - covered.astype(np.int64)) * on
    return CriticalPath(cp, blocking, cs, ce, asynchronous, root_of)


def _chains(rows: np.ndarray, parent: np.ndarray, cs: np.ndarray, ce: np.ndarray,
            start: np.ndarray) -> np.ndarray:
    """Mark the children Jaeger's walk visits under each parent."""
    in_chain = np.zeros(len(cs), dtype=bool)
    if not len(rows):
        return in_chain
    # sort siblings by end; among equal ends the earliest (unclipped) start, then the first row,
    # comes last: Jaeger keeps children in start order and takes the first latest end
    order = _sorted_by(parent, ce[rows], ties=(-start[rows], -rows))
    rows, parent = rows[order], parent[order]
    group_start = np.r_[0, np.flatnonzero(np.diff(parent)) + 1]
    group = np.repeat(np.arange(len(group_start)), np.diff(np.r_[group_start, len(rows)]))
    base = np.minimum.reduceat(cs[rows], group_start)
    width = int((ce[rows] - base[group]).max()) + 2
    if len(group_start) * width >= 2**62:
        raise OverflowError("span times too far apart to analyse in one pass")
    keys = group * width + (ce[rows] - base[group])
    queries = group * width + (cs[rows] - base[group])
    prev = np.searchsorted(keys, queries, side="left") - 1
    prev = np.where(prev >= group_start[group], prev, -1)
    frontier = np.r_[group_start[1:] - 1, len(rows) - 1]  # last-finishing child of each parent
    while len(frontier):
        in_chain[rows[frontier]] = True
        frontier = prev[frontier]
        frontier = frontier[frontier >= 0]
    return in_chain


def _sorted_by(group: np.ndarray, value: np.ndarray, ties: tuple = ()) -> np.ndarray:
    """Positions ordered by (group, value, *ties) as `np.lexsort` orders them (groups >= 0),
    with one argsort of a combined key (lexsort is ~8x slower); only equal keys go to lexsort.
    Without `ties`, rows with equal (group, value) come in no particular order."""
    if not len(value):
        return np.zeros(0, dtype=np.int64)
    low = int(value.min())
    width = int(value.max()) - low + 1
    if (int(group.max()) + 1) * width >= 2**62:
        return np.lexsort((*reversed(ties), value, group))
    key = group.astype(np.int64) * width + (value - low)
    order = np.argsort(key)
    if ties:
        ordered = key[order]
        same = ordered[1:] == ordered[:-1]
        if same.any():  # runs of equal keys keep their place; sort inside them by the ties
            tied = np.flatnonzero(np.r_[same, False] | np.r_[False, same])
            sub = order[tied]
            order[tied] = sub[np.lexsort((*(t[sub] for t in reversed(ties)), key[sub]))]
    return order


def self_time(tree: Tree, start: np.ndarray, duration: np.ndarray) -> np.ndarray:
    """Duration minus the union of the children's intervals clipped to the span (Jaeger)."""
    n = len(start)
    end = start + duration
    rows = np.flatnonzero((tree.parent >= 0) & (start > 0))
    p = tree.parent[rows]
    a = np.maximum(start[rows], start[p])
    b = np.minimum(end[rows], end[p])
    inside = b > a
    rows, p, a, b = rows[inside], p[inside], a[inside], b[inside]
    covered = np.zeros(n, dtype=np.int64)
    if len(rows):
        order = _sorted_by(p, a)  # the union of intervals needs no order among equal starts
        p, a, b = p[order], a[order], b[order]
        group_start = np.r_[0, np.flatnonzero(np.diff(p)) + 1]
        group = np.repeat(np.arange(len(group_start)),
                          np.diff(np.r_[group_start, len(p)]))
        base = a[group_start][group]  # sorted by start: the first is the earliest
        width = int((b - base).max()) + 2
        offset = group * width - base
        reach = np.maximum.accumulate(b + offset)  # furthest end so far, per parent
        before = np.r_[-1, reach[:-1]]
        before = np.where(np.r_[True, group[1:] != group[:-1]], -1, before - offset)
        gain = b - np.maximum(a, before)
        covered = np.bincount(p, weights=np.maximum(gain, 0), minlength=n).astype(np.int64)
    return np.maximum(duration - covered, 0)


def critical_path_sections(spans: list[dict]) -> list[tuple[str, int, int]]:
    """Jaeger's walk on one trace, literally: `(span id, start, end)` sections, root first.

    `spans` are dicts with `id`, `parent` (None for the root), `start`, `duration`, `kind`
    (optional). Orphans and CONSUMER children of PRODUCERs are left out, as Jaeger does.
    """
    by_id = {s["id"]: s for s in spans}
    roots = [s for s in spans if s.get("parent") is None]
    if not roots:
        return []
    root = min(roots, key=lambda s: s["start"])
    children: dict = {s["id"]: [] for s in spans}
    for s in spans:
        p = s.get("parent")
        if p in by_id and p != s["id"]:
            if s.get("kind") == "CONSUMER" and by_id[p].get("kind") == "PRODUCER":
                continue
            children[p].append(s)
    span_of = {root["id"]: (root["start"], root["start"] + root["duration"])}
    kids: dict = {}
    stack = [root["id"]]
    while stack:  # sanitise: clip to the parent, drop children outside it
        sid = stack.pop()
        ps, pe = span_of[sid]
        kids[sid] = []
        for c in sorted(children[sid], key=lambda c: c["start"]):
            cs, ce = c["start"], c["start"] + c["duration"]
            if cs >= pe or ce <= ps:
                continue
            span_of[c["id"]] = (max(cs, ps), min(ce, pe))
            kids[sid].append(c["id"])
            stack.append(c["id"])
    parent_of = {c: p for p, cs in kids.items() for c in cs}
    sections: list[tuple[str, int, int]] = []
    cur, bound = root["id"], None
    while True:
        cands = [c for c in kids[cur] if bound is None or span_of[c][1] < bound]
        if cands:
            lfc = max(cands, key=lambda c: span_of[c][1])  # first in start order on ties
            hi = span_of[cur][1] if bound is None else bound
            if span_of[lfc][1] < hi:
                sections.append((cur, span_of[lfc][1], hi))
            cur, bound = lfc, None
            continue
        lo, hi = span_of[cur][0], span_of[cur][1] if bound is None else bound
        if lo < hi:
            sections.append((cur, lo, hi))
        if cur not in parent_of:
            return sections
        cur, bound = parent_of[cur], span_of[cur][0]
