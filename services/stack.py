"""The shop's process manager: one supervisord per stack (per `$SHOP_VAR_DIR`).

The program list is data (`PROGRAMS`). `Stack.up()` writes the supervisor config under
`$SHOP_VAR_DIR/supervisor/`, starts supervisord (or reuses the one already running there),
and waits until every program answers its health check, else names the one that does not and
why. Each program's stdout/stderr goes to `$SHOP_VAR_DIR/log/<name>.out`. `Stack.down()` shuts
down exactly that supervisord and checks that none of its processes is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import xmlrpc.client
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aio_pika
import httpx
import psutil
import psycopg
from psycopg import sql as pg_sql
from supervisor.xmlrpc import SupervisorTransport

from services.common.broker import DLX, EXCHANGE, QUEUES, dlq_name
from services.common.settings import REPO, Settings
from services.isolation import (
    DB_SERVICES,
    IsolationError,
    broker_url_for,
    check_connections,
    ensure_vhost,
    remove_vhost_if_idle,
    stack_vhost,
)

READY_TIMEOUT = 60.0
# env vars a stack passes on to its programs (besides the process environment they inherit)
STACK_ENV_PREFIXES = (
    "SHOP_", "DATABASE_", "BROKER_", "ZIPKIN_", "OTEL_", "LOG_LEVEL", "ORDER_", "GATEWAY_", "WEB_",
    "COLLECTOR_",
)


@dataclass(frozen=True)
class Program:
    """One supervised process. `command` may use {python}, {port}, {var_dir}, {repo}."""

    name: str
    command: tuple[str, ...]
    health: str | None = "/health/ready"  # HTTP path probed for readiness; None: TCP only
    port: str | None = None  # settings port key; defaults to `name`
    module: str | None = None  # Python module that must exist for the program to run
    enabled: Callable[[], bool] = field(default=lambda: True, compare=False)

    @property
    def port_key(self) -> str:
        return self.port or self.name


def python_program(name: str, health: str | None = "/health/ready") -> Program:
    """A program run as `python -m services.<name>`."""
    module = f"services.{name}"
    return Program(name, ("{python}", "-m", module), health=health, module=module)


PROGRAMS: list[Program] = [
    python_program("collector", health="/health"),
    python_program("mailsink", health=None),
    python_program("customer"),
    python_program("product"),
    python_program("order"),
    python_program("payment"),
    python_program("notification"),
    python_program("gateway"),
    # scrapes the programs above (deploy/prometheus.yml, ports + offset); only where installed
    Program(
        "prometheus",
        ("{python}", "-m", "services.prometheus"),
        health="/-/ready",
        module="services.prometheus",
        enabled=lambda: shutil.which("prometheus") is not None,
    ),
]


class StackError(RuntimeError):
    """The stack could not be started or stopped; the message names the program and why."""


def _module_exists(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def _port_owner(port: int) -> str:
    """Who listens on `port` ('pid 123 (python -m ...)' or 'another process')."""
    with contextlib.suppress(psutil.Error, OSError):
        for conn in psutil.net_connections(kind="tcp"):
            if conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_LISTEN:
                if conn.pid is None:
                    break
                cmd = " ".join(psutil.Process(conn.pid).cmdline()[:4])
                return f"pid {conn.pid} ({cmd})"
    return "another process"


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def _tail(path: Path, lines: int = 8) -> str:
    if not path.exists():
        return "(no output)"
    text = path.read_text(errors="replace").strip().splitlines()
    return "\n".join(text[-lines:]) or "(no output)"


class Stack:
    """A stack of shop processes configured by `env` (on top of the process environment)."""

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        programs: Sequence[str] | None = None,
    ):
        self.env = {**os.environ, **(env or {})}
        fields = Settings.model_fields
        self.settings = Settings.model_validate(
            {k.lower(): v for k, v in self.env.items() if k.lower() in fields}
        )
        self.note: str | None = None  # what `down` left behind, said by the CLI
        # a vhost of its own, so no other stack's services consume this one's messages
        self.own_vhost = not any(k.upper() == "BROKER_URL" for k in self.env)
        if self.own_vhost:
            self.env["BROKER_URL"] = broker_url_for(stack_vhost(self.settings))
            self.settings = self.settings.model_copy(update={"broker_url": self.env["BROKER_URL"]})
        self.var_dir = Path(self.settings.shop_var_dir).resolve()
        self.env["SHOP_VAR_DIR"] = str(self.var_dir)
        known = {p.name: p for p in PROGRAMS if p.enabled()}
        unknown = set(programs or ()) - set(known)
        if unknown:
            raise StackError(f"unknown program(s): {', '.join(sorted(unknown))}")
        self.programs = [known[n] for n in known if programs is None or n in programs]
        self.supervisor_dir = self.var_dir / "supervisor"
        self.config_path = self.supervisor_dir / "supervisord.conf"
        self.pid_path = self.supervisor_dir / "supervisord.pid"
        sock = self.supervisor_dir / "supervisor.sock"
        if len(str(sock)) > 100:  # AF_UNIX path limit
            digest = hashlib.sha1(str(self.var_dir).encode()).hexdigest()[:12]
            sock = Path("/tmp") / f"shop-supervisor-{digest}.sock"
        self.socket_path = sock

    # -- paths and URLs -------------------------------------------------------------------
    def program(self, name: str) -> Program:
        for program in self.programs:
            if program.name == name:
                return program
        raise StackError(f"no program named {name!r} in this stack")

    def port(self, name: str) -> int:
        try:
            return self.settings.port(self.program(name).port_key)
        except ValueError as exc:
            raise StackError(str(exc)) from None

    def url(self, name: str) -> str:
        return self.settings.url(name)

    @property
    def gateway_url(self) -> str:
        return self.url("gateway")

    @property
    def collector_url(self) -> str:
        return self.url("collector")

    def output_path(self, name: str) -> Path:
        """The program's stdout/stderr as captured by supervisor."""
        return self.var_dir / "log" / f"{name}.out"

    def log_path(self, name: str) -> Path:
        """The service's JSON log lines (written by the service itself)."""
        return self.var_dir / "log" / f"{name}.jsonl"

    # -- supervisor ----------------------------------------------------------------------
    def _rpc(self) -> xmlrpc.client.ServerProxy:
        transport = SupervisorTransport(None, None, f"unix://{self.socket_path}")
        return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)

    def supervisor_running(self) -> bool:
        if not self.socket_path.exists():
            return False
        try:
            return self._rpc().supervisor.getState()["statename"] == "RUNNING"
        except (OSError, xmlrpc.client.Error):
            return False

    def _render_command(self, program: Program) -> str:
        values = {
            "python": sys.executable,
            "port": self.port(program.name),
            "var_dir": self.var_dir,
            "repo": REPO,
        }
        return " ".join(str(part).format(**values) for part in program.command)

    def program_env(self) -> dict[str, str]:
        """What the stack adds to a program's environment: its settings, unbuffered output."""
        return {
            k: v for k, v in sorted(self.env.items()) if k.startswith(STACK_ENV_PREFIXES)
        } | {"PYTHONUNBUFFERED": "1"}

    def write_config(self) -> Path:
        """Write supervisord.conf for this stack; its path back."""
        log_dir = self.var_dir / "log"
        for directory in (self.supervisor_dir, log_dir):
            directory.mkdir(parents=True, exist_ok=True)
        passed = self.program_env()
        environment = ",".join(
            f'{k}="{v.replace("%", "%%").replace(chr(34), "")}"' for k, v in passed.items()
        )
        lines = [
            "[unix_http_server]",
            f"file={self.socket_path}",
            "chmod=0700",
            "",
            "[supervisord]",
            f"logfile={self.supervisor_dir / 'supervisord.log'}",
            f"pidfile={self.pid_path}",
            f"directory={REPO}",
            "logfile_maxbytes=5MB",
            "loglevel=info",
            f"environment={environment}",
            "",
            "[rpcinterface:supervisor]",
            "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
            "",
            "[supervisorctl]",
            f"serverurl=unix://{self.socket_path}",
        ]
        for program in self.programs:
            lines += [
                "",
                f"[program:{program.name}]",
                f"command={self._render_command(program)}",
                f"directory={REPO}",
                "autostart=true",
                "autorestart=unexpected",
                "startsecs=1",
                "startretries=2",
                "stopasgroup=true",
                "killasgroup=true",
                "stopwaitsecs=10",
                "redirect_stderr=true",
                f"stdout_logfile={self.output_path(program.name)}",
                "stdout_logfile_maxbytes=20MB",
                "stdout_logfile_backups=1",
            ]
        self.config_path.write_text("\n".join(lines) + "\n")
        return self.config_path

    def check_startable(self, programs: Sequence[Program]) -> None:
        """Raise naming each program whose module is missing or whose port is taken."""
        problems = []
        for program in programs:
            if program.module and not _module_exists(program.module):
                problems.append(
                    f"{program.name}: module {program.module} does not exist (not written yet?)"
                )
            elif program.module is None and shutil.which(program.command[0]) is None:
                problems.append(f"{program.name}: executable {program.command[0]} not found")
            elif port_in_use(port := self.port(program.name)):
                problems.append(
                    f"{program.name}: port {port} is already in use by {_port_owner(port)}"
                )
        if problems:
            raise StackError("cannot start the stack:\n  " + "\n  ".join(problems))

    # -- lifecycle -----------------------------------------------------------------------
    def up(self, timeout: float = READY_TIMEOUT) -> dict[str, str]:
        """Start the stack (or what of it is stopped) and wait until all of it is ready."""
        if self.supervisor_running():
            info = self._process_info()
            stopped = [p for p in self.programs if info.get(p.name) != "RUNNING"]
            self.check_startable([p for p in stopped if info.get(p.name) != "STARTING"])
            if any(p.name not in info for p in self.programs):
                self.write_config()  # programs this supervisord does not know yet
                rpc = self._rpc()
                [[added, _changed, _removed]] = rpc.supervisor.reloadConfig()
                for name in added:
                    rpc.supervisor.addProcessGroup(name)
            self._check_isolation(stopped)
            for program in stopped:
                self._start_program(program.name)
        else:
            self.check_startable(self.programs)
            self._check_isolation(self.programs)
            self.write_config()
            for stale in (self.socket_path, self.pid_path):
                stale.unlink(missing_ok=True)
            started = subprocess.run(
                [sys.executable, "-m", "supervisor.supervisord", "-c", str(self.config_path)],
                env=self.env, cwd=REPO, capture_output=True, text=True, timeout=30,
            )
            if started.returncode != 0:
                raise StackError(f"supervisord failed: {(started.stderr or started.stdout)[-500:]}")
            deadline = time.monotonic() + 10
            while not self.supervisor_running():
                if time.monotonic() > deadline:
                    raise StackError(
                        "supervisord did not come up: "
                        + _tail(self.supervisor_dir / "supervisord.log")
                    )
                time.sleep(0.1)
        return self.wait_ready([p.name for p in self.programs], timeout)

    def _check_isolation(self, starting: Sequence[Program]) -> None:
        """The stack's own vhost exists and PostgreSQL has room for the pools of `starting`."""
        try:
            if self.own_vhost:
                ensure_vhost(self.settings.broker_url)
            check_connections(self.settings, sum(p.name in DB_SERVICES for p in starting))
        except IsolationError as exc:
            raise StackError(str(exc)) from exc

    def _process_info(self) -> dict[str, str]:
        return {i["name"]: i["statename"] for i in self._rpc().supervisor.getAllProcessInfo()}

    def _start_program(self, name: str) -> None:
        with contextlib.suppress(xmlrpc.client.Fault):  # ALREADY_STARTED
            self._rpc().supervisor.startProcess(name, False)

    def probe(self, name: str) -> str | None:
        """None when `name` answers its health check, else the reason it does not."""
        program = self.program(name)
        port = self.port(name)
        if program.health is None:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                    banner = sock.recv(64)
                return None if banner else f"port {port} accepts but says nothing"
            except OSError as exc:
                return f"not listening on port {port} ({exc.strerror or exc})"
        url = f"http://127.0.0.1:{port}{program.health}"
        try:
            response = httpx.get(url, timeout=2)
        except httpx.HTTPError as exc:
            return f"no answer from {url} ({type(exc).__name__})"
        if response.status_code == 200:
            return None
        try:
            reason = response.json().get("reason") or response.text
        except ValueError:
            reason = response.text
        return f"{url} answered {response.status_code}: {str(reason)[:300]}"

    def wait_ready(self, names: Sequence[str], timeout: float = READY_TIMEOUT) -> dict[str, str]:
        """Wait until all `names` are ready; raise naming the first that is not, and why."""
        deadline = time.monotonic() + timeout
        pending = list(names)
        reasons: dict[str, str] = {}
        running_pid: dict[str, int] = {}  # a program's pid when first seen RUNNING
        while pending:
            procs = {i["name"]: i for i in self._rpc().supervisor.getAllProcessInfo()}
            for name in list(pending):
                state = procs.get(name, {}).get("statename", "UNKNOWN")
                pid = procs.get(name, {}).get("pid")
                if state == "RUNNING":
                    running_pid.setdefault(name, pid)
                # a crash after `startsecs` is restarted by supervisor: seen as a new pid or
                # as STARTING/BACKOFF again, never as EXITED if it falls between two polls
                restarted = name in running_pid and (
                    state in ("STARTING", "BACKOFF") or pid != running_pid[name])
                if restarted or state in ("FATAL", "EXITED", "STOPPED", "UNKNOWN"):
                    raise StackError(
                        f"{name} exited (supervisor state {state}); last output "
                        f"({self.output_path(name)}):\n{_tail(self.output_path(name))}"
                    )
                reason = self.probe(name) if state == "RUNNING" else f"supervisor state {state}"
                if reason is None:
                    pending.remove(name)
                else:
                    reasons[name] = reason
            if pending and time.monotonic() > deadline:
                name = pending[0]
                raise StackError(
                    f"{name} not ready after {timeout:.0f} s: {reasons.get(name)}"
                    + (f" (also not ready: {', '.join(pending[1:])})" if pending[1:] else "")
                )
            if pending:
                time.sleep(0.25)
        return {name: "ready" for name in names}

    def status(self) -> list[dict[str, object]]:
        """One row per program: name, state, pid, port, ready (reason or 'ready')."""
        running = self.supervisor_running()
        info = {i["name"]: i for i in self._rpc().supervisor.getAllProcessInfo()} if running else {}
        rows = []
        for program in self.programs:
            if running and program.name not in info:
                continue  # not part of the running stack
            proc = info.get(program.name, {})
            state = proc.get("statename", "STOPPED" if running else "DOWN")
            ready = (self.probe(program.name) or "ready") if state == "RUNNING" else "-"
            rows.append({
                "name": program.name,
                "state": state,
                "pid": proc.get("pid") or None,
                "port": self.port(program.name),
                "ready": ready,
            })
        return rows

    def stop(self, name: str) -> None:
        """Stop one program (waits until it exited)."""
        self.program(name)
        with contextlib.suppress(xmlrpc.client.Fault):  # NOT_RUNNING
            self._rpc().supervisor.stopProcess(name, True)

    def start(self, name: str, timeout: float = READY_TIMEOUT) -> None:
        """Start one program and wait until it is ready."""
        program = self.program(name)
        if self._process_info().get(name) != "RUNNING":
            self.check_startable([program])
            self._start_program(name)
        self.wait_ready([name], timeout)

    def pids(self) -> list[int]:
        """supervisord and every live descendant of it."""
        if not self.pid_path.exists():
            return []
        try:
            root = psutil.Process(int(self.pid_path.read_text().strip()))
            if str(self.config_path) not in root.cmdline():
                return []  # a stale pid file: that pid is someone else's process now
            return [root.pid] + [c.pid for c in root.children(recursive=True)]
        except (psutil.Error, ValueError):
            return []

    def down(self, timeout: float = 20.0) -> None:
        """Stop every program and supervisord itself; raise if a process is left."""
        pids = self.pids()
        if self.supervisor_running():
            with contextlib.suppress(OSError, xmlrpc.client.Error):
                self._rpc().supervisor.shutdown()
        procs = []
        for pid in pids:
            with contextlib.suppress(psutil.Error):
                procs.append(psutil.Process(pid))
        _, alive = psutil.wait_procs(procs, timeout=timeout)
        for proc in alive:  # supervisord should have stopped them; make sure
            with contextlib.suppress(psutil.Error):
                os.kill(proc.pid, signal.SIGKILL)
        _, alive = psutil.wait_procs(alive, timeout=5)
        self.socket_path.unlink(missing_ok=True)
        if alive:
            raise StackError(f"processes left after shutdown: {[p.pid for p in alive]}")
        if self.own_vhost and pids:
            with contextlib.suppress(IsolationError):
                self.note = remove_vhost_if_idle(self.settings.broker_url)


def reset_databases(settings: Settings) -> list[str]:
    """Empty every database named `<SHOP_DB_PREFIX>*`; the services recreate their schema.

    Emptying the `public` schema is much faster than DROP DATABASE, whose checkpoint takes
    seconds per database on a busy server; a database still in use is dropped instead.
    """
    if not settings.shop_db_prefix:
        raise StackError("refusing to reset databases with an empty SHOP_DB_PREFIX")
    params = {
        "host": settings.database_host, "port": settings.database_port,
        "user": settings.database_user, "password": settings.database_password or None,
        "autocommit": True, "connect_timeout": 5,
    }
    with psycopg.connect(dbname="postgres", **params) as admin:
        pattern = settings.shop_db_prefix.replace("_", r"\_") + "%"
        names = [r[0] for r in admin.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", (pattern,)
        )]
        for name in names:
            try:
                with psycopg.connect(dbname=name, **params) as conn:
                    conn.execute("SET lock_timeout = '3s'")
                    conn.execute("DROP SCHEMA public CASCADE")
                    conn.execute("CREATE SCHEMA public")
            except psycopg.Error:
                drop = pg_sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                admin.execute(drop.format(pg_sql.Identifier(name)))
    return names


def fresh_vhost(vhost: str) -> str:
    """Create RabbitMQ vhost `vhost` (guest gets full rights) or empty the shop's queues in it.

    The broker URL of that vhost is returned.
    """
    url = f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
    try:
        asyncio.run(_delete_topology(url))
    except (aio_pika.exceptions.AMQPError, ConnectionError):
        # vhost missing (or guest lacks rights there): create it with rabbitmqctl
        grant = ["set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"]
        for args in (["add_vhost", vhost], grant):
            done = subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True, text=True)
            if done.returncode != 0 and "already_exists" not in done.stderr + done.stdout:
                raise StackError(
                    f"rabbitmqctl {' '.join(args)} failed: {done.stderr.strip()}"
                ) from None
    return url


async def _delete_topology(url: str) -> None:
    connection = await aio_pika.connect(url, timeout=5)
    async with connection:
        channel = await connection.channel()
        for queue in QUEUES:
            await channel.queue_delete(queue)
            await channel.queue_delete(dlq_name(queue))
        await channel.exchange_delete(EXCHANGE)
        await channel.exchange_delete(DLX)
