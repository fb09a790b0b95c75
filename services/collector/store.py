"""SQLite (WAL) storage of Zipkin v2 spans, with the indexes the read API needs.

Spans are stored as their canonical JSON, next to the columns queries filter on; a trace row keeps
the trace's root timestamp (the `/traces` window) and when it was last received (retention).
Identical re-sent spans are stored once, like Zipkin's in-memory store; differing fragments of
one span are all kept. One writer at a time (a lock); readers use their own connections.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import orjson

from services.collector.dependencies import link_dependencies
from services.collector.query import TraceQuery

SCHEMA = """
CREATE TABLE IF NOT EXISTS traces (
    tid INTEGER PRIMARY KEY,
    trace_id TEXT NOT NULL UNIQUE,
    root_ts INTEGER,
    min_ts INTEGER,
    max_ts INTEGER,
    span_count INTEGER NOT NULL,
    received_ms INTEGER NOT NULL,
    links_at INTEGER, -- span_count when trace_links were computed; stale when it differs
    trace_time INTEGER GENERATED ALWAYS AS (coalesce(root_ts, min_ts)) VIRTUAL
);
CREATE INDEX IF NOT EXISTS traces_by_time ON traces (trace_time);
CREATE INDEX IF NOT EXISTS traces_by_received ON traces (received_ms);
CREATE TABLE IF NOT EXISTS spans (
    tid INTEGER NOT NULL,
    digest INTEGER NOT NULL,
    local_service TEXT,
    remote_service TEXT,
    name TEXT,
    duration INTEGER,
    body BLOB NOT NULL
);
-- the service column makes "has this trace a span of service S" an index-only lookup
CREATE UNIQUE INDEX IF NOT EXISTS spans_by_trace ON spans (tid, local_service, digest);
CREATE TABLE IF NOT EXISTS trace_links (
    tid INTEGER NOT NULL, parent TEXT NOT NULL, child TEXT NOT NULL,
    calls INTEGER NOT NULL, errors INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS trace_links_by_trace ON trace_links (tid);
CREATE TABLE IF NOT EXISTS span_names (
    service TEXT NOT NULL, name TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (service, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS remote_names (
    service TEXT NOT NULL, remote TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (service, remote)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tag_values (
    key TEXT NOT NULL, value TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (key, value)
) WITHOUT ROWID;
"""

_CHUNK = 500  # ids per `IN (...)`, well under SQLite's variable limit
_TIDS_OF = "SELECT trace_id, tid FROM traces WHERE trace_id IN"
_DIGESTS_OF = "SELECT tid, digest FROM spans WHERE tid IN"
_INSERT_SPAN = (
    "INSERT INTO spans (tid, digest, local_service, remote_service, name, duration, body)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)


@dataclass(frozen=True)
class Retention:
    """Bounds of the store: at most `max_spans`, nothing received more than `max_age_s` ago."""

    max_spans: int = 500_000
    max_age_s: float = 72 * 3600.0

    @property
    def slack(self) -> int:
        """Evict a little more than needed so a full store does not evict on every batch."""
        return max(1, self.max_spans // 100)


@dataclass(frozen=True)
class StoreResult:
    stored: int
    duplicates: int
    evicted: int


class SpanStore:
    """Zipkin v2 spans in one SQLite file; thread-safe."""

    def __init__(
        self,
        path: Path | str,
        retention: Retention | None = None,
        autocomplete_keys: Iterable[str] = (),
    ) -> None:
        self.path = str(path)
        self.retention = retention or Retention()
        self.autocomplete_keys = frozenset(autocomplete_keys)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._local = threading.local()
        self._writer = self._connect()
        self._writer.executescript(SCHEMA)
        columns = {row[1] for row in self._writer.execute("PRAGMA table_xinfo(traces)")}
        if "links_at" not in columns:  # a store created before links were kept
            self._writer.execute("ALTER TABLE traces ADD COLUMN links_at INTEGER")
        self.span_count: int = self._writer.execute("SELECT count(*) FROM spans").fetchone()[0]

    # -- connections -----------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=10000")
        conn.execute("PRAGMA cache_size=-65536")
        conn.execute("PRAGMA wal_autocheckpoint=10000")
        return conn

    @property
    def _reader(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
            conn.execute("PRAGMA query_only=1")
            conn.execute("PRAGMA cache_size=-16384")  # one per worker thread: keep them small
        return conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = self._writer
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._writer.close()

    # -- ingest ----------------------------------------------------------------------------

    def add(self, spans: Sequence[dict[str, Any]]) -> StoreResult:
        """Store normalised spans in one transaction: all of them or none."""
        return self.add_rows(self.rows(spans))

    @staticmethod
    def rows(spans: Sequence[dict[str, Any]]) -> list[SpanRow]:
        """The stored form of normalised spans (no I/O: can run ahead of `add_rows`)."""
        return [SpanRow.of(span) for span in spans]

    def add_rows(self, rows: list[SpanRow]) -> StoreResult:
        """Store prepared rows in one transaction: all of them or none."""
        if not rows:
            return StoreResult(0, 0, 0)
        now_ms = int(time.time() * 1000)
        with self._write() as conn:
            evicted = self._make_room(conn, len(rows))
            by_trace: dict[str, list[SpanRow]] = defaultdict(list)
            for row in rows:
                by_trace[row.trace_id].append(row)
            tids = dict(_select_in(conn, _TIDS_OF, by_trace))
            known = set(_select_in(conn, _DIGESTS_OF, tids.values()))
            fresh: dict[str, list[SpanRow]] = {}
            seen: set[tuple[str, int]] = set()
            for trace_id, trace_rows in by_trace.items():
                tid = tids.get(trace_id)
                keep = []
                for row in trace_rows:
                    key = (trace_id, row.digest)
                    if key in seen or (tid is not None and (tid, row.digest) in known):
                        continue
                    seen.add(key)
                    keep.append(row)
                if keep:
                    fresh[trace_id] = keep
            self._upsert_traces(conn, fresh, tids, now_ms)
            stored = [row for trace_rows in fresh.values() for row in trace_rows]
            conn.executemany(
                _INSERT_SPAN,
                [
                    (tids[r.trace_id], r.digest, r.service, r.remote, r.name, r.duration, r.body)
                    for r in stored
                ],
            )
            self._count_names(conn, [(r.service, r.remote, r.name, r.tags) for r in stored], +1)
            self.span_count += len(stored)
        return StoreResult(len(stored), len(rows) - len(stored), evicted)

    def _upsert_traces(
        self,
        conn: sqlite3.Connection,
        fresh: dict[str, list[SpanRow]],
        tids: dict[str, int],
        now: int,
    ) -> None:
        updates, inserts = [], []
        for trace_id, trace_rows in fresh.items():
            stamps = [r.timestamp for r in trace_rows if r.timestamp is not None]
            roots = [r.timestamp for r in trace_rows if r.is_root and r.timestamp is not None]
            values = (
                min(roots, default=None),
                min(stamps, default=None),
                max(stamps, default=None),
                len(trace_rows),
                now,
            )
            if trace_id in tids:
                updates.append((*values, tids[trace_id]))
            else:
                inserts.append((trace_id, *values))
        conn.executemany(
            "UPDATE traces SET"
            " root_ts = min(coalesce(root_ts, ?1), coalesce(?1, root_ts)),"
            " min_ts = min(coalesce(min_ts, ?2), coalesce(?2, min_ts)),"
            " max_ts = max(coalesce(max_ts, ?3), coalesce(?3, max_ts)),"
            " span_count = span_count + ?4, received_ms = ?5 WHERE tid = ?6",
            updates,
        )
        conn.executemany(
            "INSERT INTO traces (trace_id, root_ts, min_ts, max_ts, span_count, received_ms)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            inserts,
        )
        if inserts:
            tids.update(_select_in(conn, _TIDS_OF, [insert[0] for insert in inserts]))

    def _count_names(
        self, conn: sqlite3.Connection, spans: Iterable[tuple[Any, Any, Any, dict]], sign: int
    ) -> None:
        """Keep the name tables' span counts (so eviction can drop names no span uses)."""
        spans = list(spans)
        names = Counter((s[0], s[2] or "") for s in spans if s[0] is not None)
        remotes = Counter((s[0], s[1]) for s in spans if s[0] is not None and s[1] is not None)
        keys = self.autocomplete_keys
        tags = Counter(
            (key, s[3][key]) for s in spans if keys and s[3] for key in keys.intersection(s[3])
        )
        tables = {"span_names": names, "remote_names": remotes, "tag_values": tags}
        for table, counts in tables.items():
            if not counts:
                continue
            conn.executemany(
                f"INSERT INTO {table} VALUES (?, ?, ?)"
                f" ON CONFLICT DO UPDATE SET n = n + excluded.n",
                [(a, b, sign * n) for (a, b), n in counts.items()],
            )
            if sign < 0:
                conn.execute(f"DELETE FROM {table} WHERE n <= 0")

    # -- retention -------------------------------------------------------------------------

    def _make_room(self, conn: sqlite3.Connection, incoming: int) -> int:
        excess = self.span_count + incoming - self.retention.max_spans
        if excess <= 0:
            return 0
        goal = excess + self.retention.slack
        victims, freed = [], 0
        cursor = conn.execute("SELECT tid, span_count FROM traces ORDER BY received_ms, tid")
        for tid, count in cursor:
            victims.append(tid)
            freed += count
            if freed >= goal:
                break
        cursor.close()
        return self._evict(conn, victims)

    def expire(self, now: float | None = None) -> int:
        """Delete traces last received more than the retention age ago; returns spans deleted."""
        cutoff_ms = int(((now or time.time()) - self.retention.max_age_s) * 1000)
        with self._write() as conn:
            rows = conn.execute("SELECT tid FROM traces WHERE received_ms < ?", (cutoff_ms,))
            victims = [tid for (tid,) in rows]
            return self._evict(conn, victims)

    def _evict(self, conn: sqlite3.Connection, tids: list[int]) -> int:
        deleted, keys = 0, self.autocomplete_keys
        for chunk in _chunks(tids):
            marks = ",".join("?" * len(chunk))
            spans = [
                (service, remote, name, orjson.loads(body).get("tags", {}) if keys else {})
                for service, remote, name, body in conn.execute(
                    "SELECT local_service, remote_service, name, body FROM spans"
                    f" WHERE tid IN ({marks})",
                    chunk,
                )
            ]
            self._count_names(conn, spans, -1)
            deleted += conn.execute(f"DELETE FROM spans WHERE tid IN ({marks})", chunk).rowcount
            conn.execute(f"DELETE FROM traces WHERE tid IN ({marks})", chunk)
            conn.execute(f"DELETE FROM trace_links WHERE tid IN ({marks})", chunk)
        self.span_count -= deleted
        return deleted

    # -- queries ---------------------------------------------------------------------------

    def service_names(self) -> list[str]:
        return _strings(self._reader, "SELECT DISTINCT service FROM span_names")

    def span_names(self, service: str) -> list[str]:
        return _strings(
            self._reader, "SELECT name FROM span_names WHERE service = ? AND name != ''", service
        )

    def remote_service_names(self, service: str) -> list[str]:
        return _strings(self._reader, "SELECT remote FROM remote_names WHERE service = ?", service)

    def tag_values(self, key: str) -> list[str]:
        return _strings(self._reader, "SELECT value FROM tag_values WHERE key = ?", key)

    def trace(self, trace_id: str) -> list[bytes] | None:
        """Raw JSON spans of one trace, or None when absent."""
        return self.traces([trace_id]).get(trace_id)

    def traces(self, trace_ids: Sequence[str]) -> dict[str, list[bytes]]:
        """Raw JSON spans by trace id, for the ids that exist."""
        tids = {tid: trace_id for trace_id, tid in _select_in(self._reader, _TIDS_OF, trace_ids)}
        bodies = self._bodies(list(tids))
        return {tids[tid]: spans for tid, spans in bodies.items()}

    def find_traces(self, query: TraceQuery) -> list[list[bytes]]:
        """Traces matching `query` (Zipkin's `QueryRequest.test`), newest root first."""
        sql, args = _trace_query_sql(query)
        tids = [tid for (tid,) in self._reader.execute(sql, args)]
        bodies = self._bodies(tids)
        return [bodies[tid] for tid in tids if tid in bodies]

    def dependency_links(self, start_us: int, end_us: int) -> list[dict[str, Any]]:
        """DependencyLinks of the traces with spans in `[start_us, end_us]`.

        Each trace's links are computed once (zipkin's linker) and kept in `trace_links` until
        more of its spans arrive; the sum over the window is then one SQL query. A trace counts
        when its span timestamps straddle the window (Zipkin: has a span inside it).
        """
        window = (end_us, start_us)
        stale = self._reader.execute(
            "SELECT tid, span_count FROM traces WHERE min_ts <= ? AND max_ts >= ?"
            " AND links_at IS NOT span_count",
            window,
        ).fetchall()
        for chunk in _chunks(stale):
            bodies = self._bodies([tid for tid, _ in chunk])
            rows = []
            for tid, _ in chunk:
                spans = [orjson.loads(body) for body in bodies.get(tid, [])]
                for link in link_dependencies([spans]):
                    rows.append(
                        (tid, link["parent"], link["child"], link["callCount"],
                         link.get("errorCount", 0))
                    )  # fmt: skip
            self._save_links(chunk, rows)
        found = self._reader.execute(
            "SELECT l.parent, l.child, sum(l.calls), sum(l.errors) FROM trace_links l"
            " JOIN traces t ON t.tid = l.tid"
            " WHERE t.min_ts <= ? AND t.max_ts >= ? AND t.links_at = t.span_count"
            " GROUP BY l.parent, l.child ORDER BY min(l.rowid)",
            window,
        )
        links = []
        for parent, child, calls, errors in found:
            link = {"parent": parent, "child": child, "callCount": calls}
            if errors:
                link["errorCount"] = errors
            links.append(link)
        return links

    def _save_links(self, computed: list[tuple[int, int]], rows: list[tuple]) -> None:
        """Replace the links of traces that got no new span since they were read."""
        with self._write() as conn:
            tids = [tid for tid, _ in computed]
            current = dict(
                _select_in(conn, "SELECT tid, span_count FROM traces WHERE tid IN", tids)
            )
            fresh = [tid for tid, count in computed if current.get(tid) == count]
            if not fresh:
                return
            marks = ",".join("?" * len(fresh))
            conn.execute(f"DELETE FROM trace_links WHERE tid IN ({marks})", fresh)
            keep = set(fresh)
            conn.executemany(
                "INSERT INTO trace_links VALUES (?, ?, ?, ?, ?)", [r for r in rows if r[0] in keep]
            )
            conn.execute(f"UPDATE traces SET links_at = span_count WHERE tid IN ({marks})", fresh)

    def _bodies(self, tids: Sequence[int]) -> dict[int, list[bytes]]:
        found: dict[int, list[bytes]] = defaultdict(list)
        for chunk in _chunks(list(tids)):
            marks = ",".join("?" * len(chunk))
            for tid, body in self._reader.execute(
                f"SELECT tid, body FROM spans WHERE tid IN ({marks}) ORDER BY rowid", chunk
            ):
                found[tid].append(body)
        return found


class SpanRow(NamedTuple):
    """The columns of one span row, derived from its canonical JSON (a tuple: cheap to make)."""

    trace_id: str
    digest: int
    service: str | None
    remote: str | None
    name: str | None
    timestamp: int | None
    duration: int | None
    is_root: bool
    body: bytes
    tags: dict[str, str]

    @classmethod
    def of(cls, span: dict[str, Any]) -> SpanRow:
        body = orjson.dumps(span)
        digest = int.from_bytes(hashlib.blake2b(body, digest_size=8).digest(), "big", signed=True)
        local = span.get("localEndpoint")
        remote = span.get("remoteEndpoint")
        return cls(
            span["traceId"],
            digest,
            local.get("serviceName") if local else None,
            remote.get("serviceName") if remote else None,
            span.get("name"),
            span.get("timestamp"),
            span.get("duration"),
            "parentId" not in span,
            body,
            span.get("tags", {}),
        )


def _trace_query_sql(query: TraceQuery) -> tuple[str, list[Any]]:
    """One SELECT of trace ids: each criterion is an EXISTS over the spans of the service."""
    start, end = query.window_us
    where = ["t.trace_time BETWEEN ? AND ?"]
    args: list[Any] = [start, end]
    scope, scope_args = "", []
    if query.service_name is not None:
        scope, scope_args = " AND s.local_service = ?", [query.service_name]

    def exists(condition: str, *values: Any) -> None:
        where.append(f"EXISTS (SELECT 1 FROM spans s WHERE s.tid = t.tid{scope} AND {condition})")
        args.extend(scope_args)
        args.extend(values)

    if query.service_name is not None:
        exists("1")
    if query.remote_service_name is not None:
        exists("s.remote_service = ?", query.remote_service_name)
    if query.span_name is not None:
        exists("s.name = ?", query.span_name)
    if query.min_duration is not None:
        if query.max_duration is not None:
            exists("s.duration BETWEEN ? AND ?", query.min_duration, query.max_duration)
        else:
            exists("s.duration >= ?", query.min_duration)
    terms = list(query.annotation_query.items())
    for key, value in terms:
        # a byte search first: a span's canonical JSON holds `"key":"value"` (or `"key"` for a
        # bare key: a tag key or an annotation) wherever the term can match; most traces fail
        # here without their JSON being parsed
        needle = orjson.dumps(key) + (b":" + orjson.dumps(value) if value else b"")
        exists("instr(s.body, ?) > 0", needle)
    if terms:
        # every term met by some span of the trace, all terms in one pass over its spans' tags
        # (one EXISTS per term read each span's JSON once per term: 99 terms, 99 passes)
        cte = "WITH q(i, k, v) AS (VALUES " + ",".join("(?, ?, ?)" for _ in terms) + ") "
        cte_args: list[Any] = []
        for index, (key, value) in enumerate(terms):
            cte_args.extend((index, key, value or None))
        matched = (
            "SELECT q.i FROM spans s, json_each(CAST(s.body AS TEXT), '$.tags') g, q"
            f" WHERE s.tid = t.tid{scope} AND g.key = q.k AND (q.v IS NULL OR g.value = q.v)"
        )
        match_args = list(scope_args)
        if any(not value for _, value in terms):
            matched += (
                " UNION SELECT q.i FROM spans s,"
                " json_each(CAST(s.body AS TEXT), '$.annotations') a, q"
                f" WHERE s.tid = t.tid{scope} AND q.v IS NULL"
                " AND json_extract(a.value, '$.value') = q.k"
            )
            match_args.extend(scope_args)
        where.append(f"(SELECT count(*) FROM ({matched})) = ?")
        args.extend(match_args)
        args.append(len(terms))
    else:
        cte, cte_args = "", []
    sql = (
        cte
        + "SELECT t.tid FROM traces t WHERE "
        + " AND ".join(where)
        + " ORDER BY t.trace_time DESC, t.tid DESC LIMIT ?"
    )
    args.append(query.limit)
    return sql, cte_args + args


def _select_in(conn: sqlite3.Connection, sql: str, values: Iterable[Any]) -> list[tuple]:
    """Run `sql (?, ?, …)` over `values` in chunks and return all rows."""
    rows: list[tuple] = []
    for chunk in _chunks(list(values)):
        rows.extend(conn.execute(f"{sql} ({','.join('?' * len(chunk))})", chunk))
    return rows


def _chunks(values: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _strings(conn: sqlite3.Connection, sql: str, *args: Any) -> list[str]:
    """A sorted name list (Zipkin sorts with Java's UTF-16 order; same for the BMP)."""
    return sorted(value for (value,) in conn.execute(sql, args))
