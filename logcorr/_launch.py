"""The `logcorr` console script. `logcorr grep TRACE_ID [PATHS...]` without options runs the
grep command directly (no click import: an indexed grep is mostly interpreter start-up); every
other command line goes to the click CLI in `logcorr.cli`."""

from __future__ import annotations

import gc
import os
import sys


def main() -> None:
    # A short run that starts by importing ~100 modules: collect garbage less often than every
    # 700 new objects, and freeze all objects before the exit so its final collection skips them.
    gc.set_threshold(20_000, 10, 10)
    args = sys.argv[1:]
    try:
        if _is_plain_grep(args):
            sys.exit(_plain_grep(args[1], args[2:]))
        from logcorr.cli import main as cli

        cli()
    finally:
        gc.freeze()


def _is_plain_grep(args: list[str]) -> bool:
    """`grep TRACE_ID [PATHS...]`: no option, no `-` (stdin), no shell completion request."""
    return (len(args) >= 2 and args[0] == "grep" and not any(a.startswith("-") for a in args)
            and "_LOGCORR_COMPLETE" not in os.environ)


def _plain_grep(trace_id: str, paths: list[str]) -> int:
    """The grep command with its defaults; a closed pipe and ^C end it as click would.
    ripgrep starts searching first, while the rest of logcorr is imported."""
    from logcorr.ripgrep import head_start

    running = head_start(trace_id, paths)
    from logcorr.grep_command import run

    try:
        return run(trace_id, paths, running=running)
    except BrokenPipeError:
        # `logcorr grep … | head`: quiet exit 1, and no second error when Python flushes stdout
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (KeyboardInterrupt, EOFError):
        print("\nAborted!", file=sys.stderr)
        return 1
