"""The `shop` console script without the [shop] extra: one clear line and exit status 2."""

from __future__ import annotations

import pytest

from services import _entry


def test_the_shop_extra_is_installed_here():
    assert _entry.missing_modules() == []


def test_a_missing_extra_is_said_and_exits_2(monkeypatch, capsys):
    monkeypatch.setattr(_entry, "SHOP_MODULES", ("fastapi", "no_such_module_xyz",
                                                 "no_such_package_xyz.sub"))
    with pytest.raises(SystemExit) as exit_:
        _entry.main()
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert "missing: no_such_module_xyz, no_such_package_xyz.sub" in err
    assert "pip install 'traceaudit[shop]'" in err
