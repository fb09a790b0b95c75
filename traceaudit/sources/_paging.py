"""Reading a whole window from a search that answers at most `limit` traces (in no promised
order): a full answer splits its window in two and both halves are asked again, down to the
backend's time resolution; a window that is still full there is reported as cut off."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import TypeVar

from traceaudit.window import Window

T = TypeVar("T")


class Paged:
    """Walks windows newest first; `cut_off` tells whether some window stayed full."""

    def __init__(self, search: Callable[[Window, int], list[T]], key: Callable[[T], str],
                 *, limit: int, resolution: timedelta, whole: bool = False) -> None:
        self.search, self.key, self.limit, self.resolution = search, key, limit, resolution
        self.whole = whole  # windows of whole `resolution`s only
        self.cut_off = False
        self.seen: set[str] = set()

    def pages(self, window: Window) -> Iterator[list[T]]:
        """Lists of new hits (each hit once), a list a query."""
        todo = [window.widened(self.resolution) if self.whole else window]
        while todo:
            current = todo.pop()
            hits = self.search(current, self.limit)
            full = len(hits) >= self.limit
            if full and current.end - current.start > self.resolution:
                older, newer = current.split(self.resolution if self.whole else None)
                todo += [older, newer]  # newer is popped first
                continue
            self.cut_off |= full
            fresh = []
            for hit in hits:
                key = self.key(hit)
                if key not in self.seen:
                    self.seen.add(key)
                    fresh.append(hit)
            if fresh:
                yield fresh
