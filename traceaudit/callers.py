"""Who makes the hops: the caller of each trace, found by following proxies from its root.

A *region* is the work of one service while serving one request: a root or a server span
(its head) and the local spans of the same service below it. A *call* leaves a region: a CLIENT
or PRODUCER span whose parent is in it, or a span of another service hanging straight under it
(a server called without a client span). A region is a *proxy* when it makes exactly one call
and the callee serves the same operation (`post /api/v1/orders` → `post /api/v1/orders`): the
caller role then passes to the callee. Each trace is followed on its own, so one broken trace
changes its own caller and nothing else; the window's caller is the majority of its traces.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from traceaudit.critical_path import CLIENT, PRODUCER, SERVER
from traceaudit.tree import Tree

_METHOD_PATH = re.compile(r"^(?:(\w+)\s+)?(/\S*)$")


@dataclass
class Regions:
    """Per row: the region its children inherit, whether it is a call and whose."""

    region: np.ndarray  # head row of the region the row is in (-1: a client call, or outside)
    is_call: np.ndarray  # bool
    owner: np.ndarray  # head row of the calling region (-1 if not a call)
    callee: np.ndarray  # head row of the region answering the call (-1: none seen)


def find_regions(tree: Tree, kind: np.ndarray, service: np.ndarray, roots: np.ndarray,
                 blocking: np.ndarray) -> Regions:
    """Regions and calls of every blocking span under `roots`, top-down, all traces at once."""
    n = len(kind)
    region = np.full(n, -1, dtype=np.int64)
    is_call = np.zeros(n, dtype=bool)
    owner = np.full(n, -1, dtype=np.int64)
    callee = np.full(n, -1, dtype=np.int64)
    if not len(roots):
        return Regions(region, is_call, owner, callee)
    region[roots] = roots
    client_call = np.zeros(n, dtype=bool)
    first = int(tree.depth[roots].min())
    for d in range(first + 1, tree.n_levels):
        rows = tree.level(d)
        rows = rows[blocking[rows]]
        if not len(rows):
            continue
        p = tree.parent[rows]
        r = region[p]
        under_call = client_call[p]
        in_region = (r >= 0) & ~under_call
        k = kind[rows]
        outgoing = (k == CLIENT) | (k == PRODUCER)
        foreign = service[rows] != service[np.maximum(r, 0)]
        call = in_region & (outgoing | foreign)
        is_call[rows] = call
        owner[rows] = np.where(call, r, -1)
        client_call[rows] = call & outgoing
        # members stay in the region; a bare call heads its callee's region; under a client
        # call a new region starts (its server, or whatever the callee reported)
        region[rows] = np.where(in_region & ~call, r,
                                np.where((call & ~outgoing) | under_call, rows, -1))
        region[rows[under_call & outgoing]] = -1  # a client straight under a client: no region
        # the callee of a client call: its (first) SERVER child; of a bare call: itself
        answered = under_call & (kind[rows] == SERVER)
        first_child = rows[answered][::-1]  # assigned last wins: keep the first in level order
        callee[p[answered][::-1]] = first_child
        callee[rows[call & ~outgoing]] = rows[call & ~outgoing]
    return Regions(region, is_call, owner, callee)


def same_operation(a: str | None, b: str | None) -> bool:
    """Whether two span names name one operation: equal, or one route ending the other's."""
    if not isinstance(a, str) or not isinstance(b, str):
        return False
    if a == b:
        return True
    ma, mb = _METHOD_PATH.match(a), _METHOD_PATH.match(b)
    if not ma or not mb:
        return False
    if ma.group(1) and mb.group(1) and ma.group(1) != mb.group(1):
        return False
    pa, pb = ma.group(2).rstrip("/"), mb.group(2).rstrip("/")
    short, long_ = sorted((pa, pb), key=len)
    return bool(short) and long_.endswith(short) and (
        len(long_) == len(short) or long_[-len(short) - 1] == "/" or short.startswith("/"))


def trace_callers(spans: pd.DataFrame, regions: Regions, roots: np.ndarray,
                  service: np.ndarray, max_hops: int = 64) -> np.ndarray:
    """Per root: the head row of its caller's region, following proxies from the root."""
    cur = roots.astype(np.int64).copy()
    if not len(cur):
        return cur
    n = len(service)
    calls = np.flatnonzero(regions.is_call)
    n_calls = np.bincount(regions.owner[calls], minlength=n)
    only_call = np.full(n, -1, dtype=np.int64)
    only_call[regions.owner[calls]] = calls
    names = spans["name"]
    name_code = names.cat.codes.to_numpy() if isinstance(names.dtype, pd.CategoricalDtype) \
        else pd.factorize(names)[0]
    categories = list(names.cat.categories) if isinstance(names.dtype, pd.CategoricalDtype) \
        else list(pd.factorize(names)[1])
    same_cache: dict[tuple[int, int], bool] = {}

    def same(a: int, b: int) -> bool:
        if (a, b) not in same_cache:
            same_cache[(a, b)] = a >= 0 and b >= 0 and (a == b or same_operation(
                categories[a], categories[b]))
        return same_cache[(a, b)]

    for _ in range(max_hops):
        one = n_calls[cur] == 1
        nxt = np.where(one, regions.callee[np.maximum(only_call[cur], 0)], -1)
        ok = (nxt >= 0) & (service[np.maximum(nxt, 0)] != service[cur]) & (service[cur] >= 0)
        if ok.any():
            width = len(categories) + 1
            pairs = (name_code[cur[ok]].astype(np.int64) + 1) * width + name_code[nxt[ok]] + 1
            uniq, inverse = np.unique(pairs, return_inverse=True)
            verdict = np.array([same(int(u // width) - 1, int(u % width) - 1) for u in uniq],
                               dtype=bool)
            ok[np.flatnonzero(ok)] = verdict[inverse.ravel()]
        if not ok.any():
            break
        cur = np.where(ok, nxt, cur)
    return cur


def majority(codes: np.ndarray) -> int:
    """The most frequent non-negative code (-1 if none); ties go to the lowest code."""
    codes = codes[codes >= 0]
    if not len(codes):
        return -1
    return int(np.bincount(codes).argmax())
