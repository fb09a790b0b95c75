"""Prometheus for a local stack: the scrape config rendered for a port offset, and its command line.

`deploy/prometheus.yml` lists every target at its default port on 127.0.0.1. A stack with
`SHOP_PORT_OFFSET=N` runs a copy of it under `$SHOP_VAR_DIR` with every port shifted by N; the
compose file runs a copy whose hosts are the container names.
"""

from __future__ import annotations

import argparse
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
CONFIG = DEPLOY / "prometheus.yml"
COMPOSE_CONFIG = DEPLOY / "prometheus" / "prometheus-compose.yml"
DEFAULT_PORT = 9090


def binary() -> str | None:
    """Path of the `prometheus` executable, or None when it is not installed."""
    return shutil.which("prometheus")


def render(
    config: dict[str, Any],
    *,
    offset: int = 0,
    host: Callable[[str], str] | None = None,
    rule_dir: Path | str | None = None,
) -> dict[str, Any]:
    """A copy of a Prometheus config with target ports shifted by `offset`.

    `host(job)` replaces the host of a job's targets; `rule_dir` makes the rule files point there.
    """
    out = yaml.safe_load(yaml.safe_dump(config))
    for job in out["scrape_configs"]:
        for static in job.get("static_configs", []):
            static["targets"] = [
                _shift(target, offset, host(job["job_name"]) if host else None)
                for target in static["targets"]
            ]
    if rule_dir is not None:
        out["rule_files"] = [str(Path(rule_dir) / Path(p).name) for p in out.get("rule_files", [])]
    return out


def _shift(target: str, offset: int, host: str | None) -> str:
    old_host, port = target.rsplit(":", 1)
    return f"{host or old_host}:{int(port) + offset}"


def load(path: Path = CONFIG) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def write_offset_config(var_dir: Path, offset: int) -> Path:
    """Write `deploy/prometheus.yml` with ports shifted by `offset` under `var_dir`; its path."""
    rendered = render(load(), offset=offset, rule_dir=DEPLOY / "prometheus")
    path = Path(var_dir) / "prometheus" / "prometheus.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_HEADER + yaml.safe_dump(rendered, sort_keys=False))
    return path


def compose_config() -> str:
    """The config the compose file mounts: same jobs and ports, container names as hosts."""
    rendered = render(load(), host=_COMPOSE_HOSTS.get, rule_dir=".")
    rendered["rule_files"] = [Path(p).name for p in rendered["rule_files"]]
    for job in rendered["scrape_configs"]:
        if job["job_name"] == "collector":  # the real Zipkin server serves its metrics here
            job["metrics_path"] = "/prometheus"
    return _HEADER + yaml.safe_dump(rendered, sort_keys=False)


# compose service names; the local collector's place is taken by the real openzipkin/zipkin
_COMPOSE_HOSTS = {
    **{s: s for s in ("gateway", "customer", "product", "order", "payment", "notification")},
    "collector": "zipkin",
    "prometheus": "localhost",
}


def command(var_dir: Path, offset: int) -> list[str]:
    """The command line that runs Prometheus for a stack (config and data under `var_dir`)."""
    exe = binary()
    if exe is None:
        raise FileNotFoundError("prometheus is not installed (scripts/bootstrap.sh installs it)")
    config = write_offset_config(var_dir, offset)
    return [
        exe,
        f"--config.file={config}",
        f"--storage.tsdb.path={Path(var_dir) / 'prometheus' / 'data'}",
        f"--web.listen-address=127.0.0.1:{DEFAULT_PORT + offset}",
        "--storage.tsdb.retention.time=2d",
        "--enable-feature=exemplar-storage",
    ]


_HEADER = "# Generated from deploy/prometheus.yml by services/prometheus.py: do not edit.\n"


def main(argv: list[str] | None = None) -> None:
    """`python -m services.prometheus`: run Prometheus for this stack (what `shop up` runs);
    `--compose` rewrites deploy/prometheus/prometheus-compose.yml instead."""
    parser = argparse.ArgumentParser(prog="python -m services.prometheus", description=main.__doc__)
    parser.add_argument("--compose", action="store_true")
    args = parser.parse_args(argv)
    if args.compose:
        COMPOSE_CONFIG.write_text(compose_config())
        print(f"wrote {COMPOSE_CONFIG}")
        return
    from services.common.settings import get_settings

    settings = get_settings()
    cmd = command(settings.shop_var_dir, settings.shop_port_offset)
    os.execv(cmd[0], cmd)  # supervisor's signals go straight to Prometheus


if __name__ == "__main__":
    main()
