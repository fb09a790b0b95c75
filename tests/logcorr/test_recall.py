"""Recall: every line ripgrep finds with any form of the trace id, logcorr returns, with the
line's own time where it has one, merged in time order — on 16 real-world formats, through
the scan, the index and gzip."""

from __future__ import annotations

import gzip
import shutil
import subprocess
from pathlib import Path

import orjson
import pytest

from logcorr.ripgrep import binary as ripgrep
from tests.logcorr.realworld import DEC, LOW, RG_FORMS, SPAN, TID, UUID, XRAY, RealWorld, build


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> RealWorld:
    return build(tmp_path_factory.mktemp("realworld") / "logs")


def _rg(folder: Path) -> set[tuple[str, int]]:
    """(file, line) of every line `rg -F -i` finds with any form of the id."""
    cmd = [ripgrep(), "--no-config", "-F", "-i", "-n", "--no-heading", "--with-filename",
           "--null"]
    for form in RG_FORMS:
        cmd += ["-e", form]
    out = subprocess.run([*cmd, "--", str(folder)], capture_output=True, check=True).stdout
    found = set()
    for line in out.splitlines():
        name, _, rest = line.partition(b"\0")
        found.add((name.decode(), int(rest.split(b":", 1)[0])))
    return found


def _grep(cli, *args) -> list[dict]:
    result = cli("grep", *args, "--format", "json")
    assert result.exit_code == 0, result.output
    return [orjson.loads(line) for line in result.stdout.splitlines()]


def test_the_corpus_is_what_it_says(world):
    assert len(world.files) >= 12
    per_file: dict[str, int] = {}
    for p in world.planted:
        per_file[p.file] = per_file.get(p.file, 0) + 1
    assert len(per_file) == len(world.files) and min(per_file.values()) >= 2
    assert {p.form for p in world.planted} == {"hex32", "hex16", "decimal", "uuid", "xray"}
    assert _rg(world.folder) == {(p.file, p.line) for p in world.planted}


@pytest.mark.parametrize("path", ["scan", "index", "gz", "gz indexed"])
def test_every_line_ripgrep_finds_is_returned_with_its_time(world, cli, tmp_path, path):
    folder, rename = world.folder, (lambda f: f)
    if path == "index":
        folder = Path(shutil.copytree(world.folder, tmp_path / "logs"))
        rename = lambda f: str(folder / Path(f).name)  # noqa: E731
        assert cli("index", folder).exit_code == 0
    elif path.startswith("gz"):
        folder = tmp_path / "gz"
        folder.mkdir()
        for f in world.folder.iterdir():
            (folder / (f.name + ".gz")).write_bytes(gzip.compress(f.read_bytes()))
        rename = lambda f: str(folder / (Path(f).name + ".gz"))  # noqa: E731
        if path == "gz indexed":
            assert cli("index", folder).exit_code == 0
            from logcorr.grep import grep

            assert len(grep(TID, [str(folder)]).indexed) == len(world.files)
    rows = _grep(cli, TID, folder)
    got = {(r["file"], r["line"]): r for r in rows}
    want = {(rename(p.file), p.line): p for p in world.planted}
    assert set(got) == set(want)  # every planted line, nothing else (rg finds exactly these)
    for place, planted in want.items():
        row = got[place]
        assert row["trace_id"] == TID and row["matched_form"] == planted.form, row
        expected = None if planted.us is None else planted.us
        from logcorr.timestamps import format_us

        assert row["timestamp"] == (format_us(expected) or None), row
        assert (row["offset_ms"] is None) == (expected is None)
    stamps = [r["timestamp"] for r in rows if r["timestamp"]]
    assert stamps == sorted(stamps)  # merged in time order


@pytest.mark.parametrize("query", [
    TID, TID.upper(), LOW, DEC, UUID, UUID.upper(), f"00-{TID}-{SPAN}-01", f"{TID}-{SPAN}-1",
    XRAY, f"Root={XRAY};Parent={SPAN};Sampled=1",
])
def test_every_form_of_the_id_finds_the_same_lines(world, cli, query):
    rows = _grep(cli, query, world.folder)
    assert {(r["file"], r["line"]) for r in rows} == {(p.file, p.line) for p in world.planted}
    assert {r["trace_id"] for r in rows} == {TID}


def test_levels_and_fields_of_the_formats(world, cli):
    rows = _grep(cli, TID, world.folder)
    by_place = {(Path(r["file"]).name, r["line"]): r for r in rows}
    assert by_place[("datadog.log", 2)]["level"] == "error"  # Datadog `status`
    assert by_place[("payment.clef", 1)]["message"] == "Charging 12"  # CLEF template filled
    assert by_place[("otelcol-logs.json", 1)]["service"] == "cart"  # OTLP resource
    assert by_place[("otelcol-logs.json", 1)]["message"] == "cart read"  # the trace's record
    assert by_place[("aspnet.json", 2)]["level"] == "error"
    assert by_place[("nova-api.log", 1)]["format"] == "openstack"
    assert by_place[("alb.log", 1)]["format"] == "aws-alb"
    assert by_place[("access.log", 3)]["level"] == "error"  # 502
    assert by_place[("cri-containerd.log", 2)]["message"] == "cart loaded"  # unwrapped JSON
    assert by_place[("docker-json.log", 3)]["level"] == "error"
    errors = _grep(cli, TID, world.folder, "--level", "error")
    assert ("datadog.log", 2) in {(Path(r["file"]).name, r["line"]) for r in errors}
