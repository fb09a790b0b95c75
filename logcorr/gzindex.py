"""Random access into `.gz` logs: `indexed_gzip` seek points (one every `SPACING` bytes of
text), built while the index reads a file once and kept in the index, so that a lookup reads
only the few KB around each posting instead of inflating the whole file again."""

from __future__ import annotations

import io
import os

SPACING = 4 << 20  # bytes of text between seek points (each keeps a 32 KB window)


def open_gz(path: str, points: bytes | None = None):
    """An `IndexedGzipFile` of `path`, with its seek points when they were kept."""
    import indexed_gzip

    f = indexed_gzip.IndexedGzipFile(path, spacing=SPACING, drop_handles=False)
    if points:
        f.import_index(fileobj=io.BytesIO(points))
    return f


def export(f) -> bytes:
    """The seek points of a file read to its end (built where it was not)."""
    f.build_full_index()
    out = io.BytesIO()
    f.export_index(fileobj=out)
    return out.getvalue()


class GzReader:
    """`pread(size, offset)` over the uncompressed text of a `.gz` file."""

    def __init__(self, path: str, points: bytes | None = None) -> None:
        self.f = open_gz(path, points)

    def pread(self, size: int, offset: int) -> bytes:
        self.f.seek(offset)
        return self.f.read(size)

    def close(self) -> None:
        self.f.close()


class PlainReader:
    """`pread(size, offset)` over a plain file."""

    def __init__(self, path: str) -> None:
        self.f = open(path, "rb")  # noqa: SIM115 - closed by close()

    def pread(self, size: int, offset: int) -> bytes:
        return os.pread(self.f.fileno(), size, offset)

    def close(self) -> None:
        self.f.close()
