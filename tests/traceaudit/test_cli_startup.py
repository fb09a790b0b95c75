"""`traceaudit` starts light: `--help`, `--version` and a mistyped option load neither pandas nor
plotly (nor rich and requests), as logcorr's launcher tests check for `logcorr`; and both
console scripts report the distribution's one version."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version

import pytest

import logcorr
import traceaudit
from tests.logcorr._modules import modules_loaded

HEAVY = {"pandas", "plotly", "numpy", "rich", "requests", "jinja2"}


@pytest.mark.parametrize("args", [
    ["--help"],
    ["--version"],
    ["orders", "--no-such-option"],
    ["orders", "--format", "xml"],
    ["metrics", "--help"],
    ["diff", "--help"],
])
def test_help_version_and_usage_errors_load_no_analysis_module(args):
    loaded, status = modules_loaded("traceaudit.cli", *args)
    assert status in (0, 2)  # 2: click's usage error
    assert sorted(loaded & HEAVY) == []


def test_import_traceaudit_is_light_until_a_name_is_used():
    code = ("import sys, traceaudit; light = 'pandas' not in sys.modules; "
            "traceaudit.hop_table; print(light, 'pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.stdout.split() == ["True", "True"], out.stderr


def test_the_lazy_names_are_the_modules_own():
    from traceaudit.hops import hop_table
    from traceaudit.zipkin import ZipkinClient

    assert traceaudit.hop_table is hop_table and traceaudit.ZipkinClient is ZipkinClient
    import traceaudit.critical_path as _module  # noqa: F401  (the submodule is loaded now)
    from traceaudit.critical_path import critical_path

    assert traceaudit.critical_path is critical_path  # the function, not the submodule
    assert set(traceaudit.__all__) <= set(dir(traceaudit))
    with pytest.raises(AttributeError):
        traceaudit.no_such_name  # noqa: B018


@pytest.mark.parametrize("entry", ["traceaudit.cli", "logcorr.cli"])
def test_each_tool_reports_the_one_version(entry):
    out = subprocess.run([sys.executable, "-c", f"from {entry} import main; main()",
                          "--version"], capture_output=True, text=True, timeout=60)
    prog = entry.split(".")[0]
    assert out.stdout.strip() == f"{prog}, version {traceaudit.__version__}"
    assert logcorr.__version__ == traceaudit.__version__ == version("traceaudit")
