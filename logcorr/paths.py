"""Which files a command reads: paths, folders and globs → files (as ripgrep picks them: no
hidden, no binary), which of them are plain text, and where their index lives. Imports no
other logcorr module: the launcher uses it before the rest of logcorr is loaded."""

from __future__ import annotations

import os

STDIN = "-"
DEFAULT_PATHS = ("var/log",)
INDEX_NAME = ".logcorr.sqlite3"


def expand_paths(paths: list[str] | tuple[str, ...] | None,
                 errors: list[str] | None = None) -> list[str]:
    """Files, folders (every text or `.gz` file in them, recursively) and globs → sorted
    unique file paths. `-` is stdin.

    A path that names nothing raises `FileNotFoundError`, or, given an `errors` list, is
    named there (`PATH: No such file or directory`) and the others are kept, as ripgrep does.
    """
    out: list[str] = []
    for p in paths or DEFAULT_PATHS:
        if p == STDIN:
            out.append(STDIN)
            continue
        matches = [p]
        if any(c in p for c in "*?[") and not os.path.exists(p):
            import glob  # only for patterns: a CLI start-up saving

            matches = sorted(glob.glob(p, recursive=True))
        if not matches:
            _missing(f"no files match {p}", errors)
        for m in matches:
            if os.path.isdir(m):
                out.extend(_log_files(m, errors))
            elif os.path.exists(m) or os.path.islink(m):
                out.append(m)
            else:
                _missing(f"{m}: No such file or directory", errors)
    unique = {os.path.normpath(p) if p != STDIN else p: None for p in out}
    return list(unique)


def _missing(message: str, errors: list[str] | None) -> None:
    if errors is None:
        raise FileNotFoundError(message)
    errors.append(message)


def _log_files(folder: str, errors: list[str] | None = None) -> list[str]:
    """Every file of a folder tree but hidden ones and binary ones (`_is_binary`; gzip files
    are read). Unreadable files are kept: reading them names them in a warning."""
    found = []
    def unreadable(exc: OSError) -> None:
        if errors is not None:
            errors.append(f"{exc.filename}: {exc.strerror}")

    for root, dirs, files in os.walk(folder, onerror=unreadable):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            path = os.path.join(root, name)
            if not name.startswith(".") and not _is_binary(path):
                found.append(path)
    return found


_BINARY_MAGIC = (b"\x7fELF", b"\x89PNG", b"SQLite format 3", b"PK\x03\x04", b"\xff\xd8\xff",
                 b"%PDF", b"BZh", b"\xfd7zXZ", b"(\xb5/\xfd")


def _is_binary(path: str) -> bool:
    """A binary file, from its first 8 KiB: a known binary magic, or NUL bytes in more than
    1% of them (ripgrep skips a file at its first NUL; a log with one damaged line is still a
    log, and its other lines are searched)."""
    try:
        with open(path, "rb") as f:
            head = f.read(8192)
    except OSError:
        return False
    if head[:2] == b"\x1f\x8b":
        return False
    return head.startswith(_BINARY_MAGIC) or head.count(b"\0") * 100 > len(head)


def is_plain(path: str) -> bool:
    """A regular uncompressed file (one ripgrep and the index can read by offset)."""
    if path == STDIN or not os.path.isfile(path):
        return False
    with open(path, "rb") as f:
        return f.read(2) != b"\x1f\x8b"


def default_index_path(files: list[str]) -> str:
    """`.logcorr.sqlite3` in the deepest folder holding all the files."""
    dirs = [os.path.dirname(os.path.abspath(f)) for f in files if f != STDIN]
    return os.path.join(os.path.commonpath(dirs) if dirs else ".", INDEX_NAME)


def existing_index(files: list[str], index_path: str | None = None) -> str | None:
    """The index file for `files` (`index_path`, else the default one), when there is one:
    checked before `logcorr.index` (and sqlite3) is imported."""
    path = index_path or default_index_path(files)
    return path if os.path.isfile(path) else None
