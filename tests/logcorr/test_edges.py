"""Edge cases × paths: each awkward input read by the unindexed scan, the index, `.gz` and
stdin gives the same lines; a path that cannot be read is one warning, the others are printed,
exit 2 (as ripgrep does)."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

TID = "4bf92f3577b34da6a3ce929d0e0e4736"
LINE = json.dumps({"timestamp": "2026-11-25T10:00:00.5Z", "level": "info", "service": "order",
                   "event": "paid", "trace_id": TID})
PATHS = ("scan", "index", "gz", "stdin")

# name → (file bytes, what each path must give: [(message, parsed, timestamp, continuation)])
CASES: dict[str, tuple[bytes, list[tuple]]] = {
    "bom": (b"\xef\xbb\xbf" + LINE.encode() + b"\n",
            [("paid", True, "2026-11-25T10:00:00.500000Z", [])]),
    "crlf": ((f"2026-11-25T10:00:00.500Z ERROR [order,{TID},00f067aa0ba902b7] 1 --- [main] "
              "c.e.Pay : declined\r\n\tat com.example.Pay.charge(Pay.java:42)\r\n"
              "\t... 12 more\r\n").encode(),
             [("declined", True, "2026-11-25T10:00:00.500000Z",
               ["\tat com.example.Pay.charge(Pay.java:42)", "\t... 12 more"])]),
    "invalid utf-8": (LINE.replace("paid", "pa\\u00efd").encode()
                      .replace(b"pa\\u00efd", b"pa\xff\xfed") + b"\n",
                      [("pa\ufffd\ufffdd", True, "2026-11-25T10:00:00.500000Z", [])]),
    "nan": (LINE.replace('"level"', '"amount": NaN, "level"').encode() + b"\n",
            [("paid", True, "2026-11-25T10:00:00.500000Z", [])]),
    "binary": (b"\x00\x01\x02garbage " + TID.encode() + b" \x00\xff\n" + LINE.encode() + b"\n",
               [("\x00\x01\x02garbage " + TID + " \x00\ufffd", False, None, []),
                ("paid", True, "2026-11-25T10:00:00.500000Z", [])]),
}


def _run(cli, path: str, data: bytes, tmp: Path) -> list[tuple]:
    """The case's file read through one path; its rows as (message, parsed, time, extra)."""
    folder = tmp / path
    folder.mkdir()
    target = folder / "svc.log"
    target.write_bytes(data)
    args = [str(target), "--no-index"]
    stdin = None
    if path == "index":
        assert cli("index", target).exit_code == 0
        args = [str(target)]
    elif path == "gz":
        gz = folder / "svc.log.gz"
        gz.write_bytes(gzip.compress(data))
        target.unlink()
        args = [str(gz)]
    elif path == "stdin":
        args, stdin = ["-"], data
    result = cli("grep", TID, *args, "--format", "json", input=stdin)
    assert result.exit_code == 0, result.output
    rows = [orjson.loads(line) for line in result.stdout.splitlines()]
    return [(r["message"], r["parsed"], r["timestamp"], r["continuation"]) for r in rows]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_every_path_reads_a_case_alike(cli, tmp_path, case, path):
    data, expected = CASES[case]
    assert _run(cli, path, data, tmp_path) == expected


def test_a_huge_line_is_found_and_shown_bounded(cli, tmp_path):
    big = json.dumps({"timestamp": "2026-11-25T10:00:00Z", "event": "x" * 10_000_000,
                      "trace_id": TID})
    for path in PATHS:
        rows = _run(cli, path, big.encode() + b"\n" + LINE.encode() + b"\n", tmp_path)
        assert [r[0] for r in rows][1] == "paid"
        message = rows[0][0]
        assert len(message) < 70_000 and message.endswith("more characters)"), path


def _logcorr() -> list[str]:
    """The logcorr command, run without the capability that lets root read any file."""
    cmd = [str(Path(sys.executable).with_name("logcorr"))]
    if os.geteuid() != 0:
        return cmd
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: cannot make a file unreadable")
    return [setpriv, "--bounding-set", "-dac_override,-dac_read_search", *cmd]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("failure", ["missing", "unreadable"])
def test_a_path_that_cannot_be_read_is_named_and_the_others_printed(tmp_path, path, failure):
    folder = tmp_path / "logs"
    folder.mkdir()
    good = folder / "good.log"
    good.write_text(LINE + "\n")
    bad = folder / "bad.log"
    if failure == "unreadable":
        bad.write_text(LINE + "\n")
        bad.chmod(0)
    args = [str(bad), str(good)]
    stdin = None
    cmd = _logcorr()
    if path == "index":
        built = subprocess.run([*cmd, "index", *args], capture_output=True, text=True)
        assert built.returncode == 2 and f"{bad}:" in built.stderr and "1 file(s)" in built.stderr
    elif path == "gz":
        gz = folder / "good.log.gz"
        gz.write_bytes(gzip.compress(good.read_bytes()))
        good.unlink()
        args = [str(bad), str(gz)]
    elif path == "stdin":
        args, stdin = [str(bad), "-"], LINE + "\n"
    out = subprocess.run([*cmd, "grep", TID, *args, "--format", "json"], input=stdin,
                         capture_output=True, text=True)
    assert out.returncode == 2, out.stderr
    warnings = [line for line in out.stderr.splitlines() if str(bad) in line]
    reason = "No such file" if failure == "missing" else "Permission denied"
    assert len(warnings) == 1 and reason in warnings[0], out.stderr
    assert [orjson.loads(line)["message"] for line in out.stdout.splitlines()] == ["paid"]
    if path in ("scan", "index"):  # the folder too: the unreadable file is named, not fatal
        folder_run = subprocess.run([*cmd, "grep", TID, str(folder), "--format", "json"],
                                    capture_output=True, text=True)
        assert len(folder_run.stdout.splitlines()) == 1
        assert folder_run.returncode == (2 if failure == "unreadable" else 0)
    traces = subprocess.run([*cmd, "traces", *[a for a in args if a != "-"], "--format",
                             "json"], capture_output=True, text=True)
    assert traces.returncode == 2 and f"{bad}:" in traces.stderr
    assert len(traces.stdout.splitlines()) == (0 if path == "stdin" else 1)
