"""ripgrep, which finds a trace's lines in plain files: where it is, how it is run, and a
search started by the launcher before the rest of logcorr is imported (~20 ms of imports that
ripgrep's search then overlaps). Imports only `os` and `sys` up front."""

from __future__ import annotations

import os
import sys

# ripgrep's options for every search: fixed strings in any case, binary read as text, and
# `FILE\0LINE:OFFSET:TEXT` lines. Whether to map or read the files is ripgrep's own choice
# (it maps up to 10 named files): on this project's 2-core hosts that has measured from 2x
# faster (0.80 GB: 43 vs 93 ms) to 2x slower (189 vs 97 ms) than `--no-mmap`, host by host;
# `bench/bench_logcorr.py` prints both.
SEARCH = ("--no-config", "-F", "-i", "-a", "-n", "-b", "--no-heading",
          "--with-filename", "--null", "--color=never", "--no-messages")


def binary() -> str | None:
    """The `rg` binary: the one installed beside this Python (PyPI `ripgrep`), else PATH."""
    here = os.path.join(os.path.dirname(sys.executable), "rg")
    if os.path.exists(here):
        return here
    import shutil

    return shutil.which("rg")


def search(rg: str, patterns: list[str], paths: list[str]) -> Spawned:
    """A running `rg` printing the lines of `paths` that hold one of `patterns`."""
    cmd = [rg, *SEARCH]
    for pattern in patterns:
        cmd += ["-e", pattern]
    cmd += ["--", *paths]
    return Spawned(cmd)


class Spawned:
    """A child process with its stdout and stderr piped, started by `os.posix_spawn`: the
    part of `subprocess.Popen` the scan uses, without importing `subprocess` (6 ms of the
    start-up before ripgrep can begin)."""

    def __init__(self, cmd: list[str]) -> None:
        out_r, out_w = os.pipe()  # not inherited: only their copies on fds 1 and 2 are
        err_r, err_w = os.pipe()
        try:
            self.pid = os.posix_spawn(cmd[0], cmd, os.environ, file_actions=[
                (os.POSIX_SPAWN_DUP2, out_w, 1), (os.POSIX_SPAWN_DUP2, err_w, 2)])
        except BaseException:
            for fd in (out_r, err_r):
                os.close(fd)
            raise
        finally:
            os.close(out_w)
            os.close(err_w)
        self.stdout = open(out_r, "rb")  # noqa: SIM115 - closed by close()
        self.stderr = open(err_r, "rb")  # noqa: SIM115
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self) -> int:
        if self.returncode is None:
            self.returncode = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
        return self.returncode

    def kill(self) -> None:
        if self.poll() is None:
            import signal

            os.kill(self.pid, signal.SIGKILL)

    def __enter__(self) -> Spawned:
        return self

    def close(self) -> None:
        """Close the pipes and reap the process."""
        self.stdout.close()
        self.stderr.close()
        self.wait()

    def __exit__(self, *exc: object) -> None:
        self.close()


class HeadStart:
    """A search of one trace's lines in the plain files of a command line, already running,
    with the files the command line named (`args`) expanded to (`files`)."""

    def __init__(self, trace_id: str, args: list[str], files: list[str], paths: list[str],
                 proc: Spawned) -> None:
        self.trace_id, self.args, self.files = trace_id, args, files
        self.paths, self.proc = paths, proc
        self.taken = False

    def files_of(self, args: list[str] | None) -> list[str] | None:
        """The files `args` expand to, when they are the arguments this search expanded."""
        return self.files if list(args or ()) == self.args else None

    def take(self, trace_id: str, paths: list[str]) -> Spawned | None:
        """The running process, once, when it searches exactly this; else it is stopped,
        and None."""
        if not self.taken and trace_id == self.trace_id and paths == self.paths:
            self.taken = True
            return self.proc
        self.stop()
        return None

    def stop(self) -> None:
        self.taken = True
        self.proc.kill()
        self.proc.close()


def head_start(query: str, paths: list[str]) -> HeadStart | None:
    """ripgrep searching the plain files of `paths` for the trace `query`, when they will be
    scanned whole (no index beside them, ripgrep installed); None otherwise."""
    from logcorr.ids import parse_query, rg_literals
    from logcorr.paths import existing_index, expand_paths, is_plain

    rg = binary()
    if rg is None:
        return None
    errors: list[str] = []
    try:
        trace_id = parse_query(query)
        files = expand_paths(paths or None, errors)
        if existing_index(files):
            return None
        plain = [f for f in files if is_plain(f)]
    except (ValueError, OSError):
        return None  # the command itself says what is wrong
    if errors or not plain:
        return None
    return HeadStart(trace_id, list(paths), files, plain,
                     search(rg, rg_literals(trace_id), plain))
