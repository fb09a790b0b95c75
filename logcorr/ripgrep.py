"""ripgrep, which finds a trace's lines in plain files: where it is, how it is run, and a
search started by the launcher before the rest of logcorr is imported (~20 ms of imports that
ripgrep's search then overlaps). Imports only `os` and `sys` up front."""

from __future__ import annotations

import os
import sys

# ripgrep's options for every search: fixed strings in any case, binary read as text, and
# `FILE\0LINE:OFFSET:TEXT` lines
SEARCH = ("--no-config", "-F", "-i", "-a", "-n", "-b", "--no-heading", "--with-filename",
          "--null", "--color=never", "--no-messages")


def binary() -> str | None:
    """The `rg` binary: the one installed beside this Python (PyPI `ripgrep`), else PATH."""
    here = os.path.join(os.path.dirname(sys.executable), "rg")
    if os.path.exists(here):
        return here
    import shutil

    return shutil.which("rg")


def search(rg: str, patterns: list[str], paths: list[str]):
    """A running `rg` printing the lines of `paths` that hold one of `patterns`."""
    import subprocess

    cmd = [rg, *SEARCH]
    for pattern in patterns:
        cmd += ["-e", pattern]
    cmd += ["--", *paths]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


class HeadStart:
    """A search of one trace's lines in the plain files of a command line, already running."""

    def __init__(self, trace_id: str, paths: list[str], proc) -> None:
        self.trace_id, self.paths, self.proc = trace_id, paths, proc
        self.taken = False

    def take(self, trace_id: str, paths: list[str]):
        """The running process, once, when it searches exactly this; else it is stopped,
        and None."""
        if not self.taken and trace_id == self.trace_id and paths == self.paths:
            self.taken = True
            return self.proc
        self.stop()
        return None

    def stop(self) -> None:
        self.taken = True
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


def head_start(query: str, paths: list[str]) -> HeadStart | None:
    """ripgrep searching the plain files of `paths` for the trace `query`, when they will be
    scanned whole (no index beside them, ripgrep installed); None otherwise."""
    from logcorr.ids import parse_query, rg_literals
    from logcorr.paths import default_index_path, expand_paths, is_plain

    rg = binary()
    if rg is None:
        return None
    try:
        trace_id = parse_query(query)
        files = expand_paths(paths or None, [])
        if os.path.exists(default_index_path(files)):
            return None
        plain = [f for f in files if is_plain(f)]
    except (ValueError, OSError):
        return None  # the command itself says what is wrong
    if not plain:
        return None
    return HeadStart(trace_id, plain, search(rg, rg_literals(trace_id), plain))
