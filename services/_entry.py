"""The `shop` console script: the reference shop's CLI, or one clear line when the distribution
was installed without its `[shop]` extra (`pip install traceaudit` alone gives the analysis
tools only)."""

from __future__ import annotations

import sys

#: What the shop imports that only the `[shop]` extra installs (one of each family is enough).
SHOP_MODULES = ("fastapi", "uvicorn", "sqlalchemy", "psycopg", "aio_pika", "supervisor",
                "opentelemetry.sdk")


def missing_modules() -> list[str]:
    """The modules of SHOP_MODULES that cannot be found in this environment."""
    from importlib.util import find_spec

    missing = []
    for name in SHOP_MODULES:
        try:
            found = find_spec(name) is not None
        except ModuleNotFoundError:  # a parent package is missing
            found = False
        if not found:
            missing.append(name)
    return missing


def main() -> None:
    missing = missing_modules()
    if missing:
        print(f"shop: the reference shop needs the [shop] extra (missing: {', '.join(missing)});"
              " install it with: pip install 'traceaudit[shop]'", file=sys.stderr)
        sys.exit(2)
    from services.cli import main as cli

    cli()
