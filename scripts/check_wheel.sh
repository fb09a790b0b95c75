#!/usr/bin/env bash
# What users install, checked as they would use it: build the sdist and the wheel, install the
# wheel into a fresh virtualenv OUTSIDE the checkout, and run the tools there on data made there:
# `traceaudit orders --from-file`, `logcorr grep`, `traceaudit metrics --help`; `shop` must say
# that it needs the [shop] extra, then work once the extra is installed. Prints the package count
# and size (the issue's target: at most 35 packages for `pip install traceaudit`).
# Run by `make wheel-check` and by .ci/run after `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
MAX_PACKAGES=${MAX_PACKAGES:-35}
say() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }
fail() { echo "check_wheel: $*" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/traceaudit-wheel.XXXXXX")
trap 'rm -rf "$work"' EXIT

say "building the sdist and the wheel"
.venv/bin/python -m build --sdist --wheel --outdir "$work/dist" . >"$work/build.log" 2>&1 \
  || { tail -40 "$work/build.log"; fail "build failed"; }
wheel=$(ls "$work"/dist/traceaudit-*.whl)
ls "$work"/dist/traceaudit-*.tar.gz >/dev/null || fail "no sdist"
"$PY" -m zipfile -l "$wheel" >"$work/wheel.txt"  # a file: `grep -q` on a pipe is a SIGPIPE
for data in traceaudit/dashboards/10-orders.json traceaudit/templates/report.html.j2 \
            logcorr/templates/report.html.j2; do
  grep -q "^$data " "$work/wheel.txt" || fail "$data is not in the wheel"
done

say "pip install $(basename "$wheel") into a fresh venv outside the checkout"
"$PY" -m venv "$work/venv"
started=$(date +%s)
"$work/venv/bin/pip" install -q "$wheel" 2>&1 | grep -v "^WARNING: Location" || true
"$work/venv/bin/python" -c "import traceaudit" || fail "the wheel did not install"
packages() { "$work/venv/bin/python" -m pip list --format=freeze 2>/dev/null | grep -vc '^pip=='; }
count=$(packages)
echo "wheel: $count packages (pip excluded), $(du -sm "$work/venv" | cut -f1) MB venv," \
     "installed in $(( $(date +%s) - started )) s"
[ "$count" -le "$MAX_PACKAGES" ] || fail "$count packages installed: more than $MAX_PACKAGES"

cd "$work"  # from here on nothing of the checkout is on sys.path
bin=$work/venv/bin
where=$("$bin/python" -c "import traceaudit; print(traceaudit.__file__)")
case $where in "$work"/venv/*) ;; *) fail "traceaudit imported from $where, not the venv";; esac
"$bin/traceaudit" --version
"$bin/logcorr" --version

say "traceaudit orders --from-file (50 synthetic orders, payment slowed down)"
"$bin/python" - <<'PY'
import orjson
from traceaudit._synth import order_traces

traces = list(order_traces(50, slow={"payment": 30_000}, seed=3))
open("traces.json", "wb").write(orjson.dumps(traces))
PY
"$bin/traceaudit" orders --from-file traces.json --format json --no-html >orders.json
"$bin/python" - <<'PY'
import json

doc = json.load(open("orders.json"))
hops = [h["hop"] for h in doc["hops"]]
assert doc["traces"] == 50, doc["traces"]
assert hops and hops[0] == "payment", hops
print(f"orders: {doc['traces']} traces, hops by critical path: {', '.join(hops)}")
PY

say "logcorr grep"
trace=4bf92f3577b34da6a3ce929d0e0e4736
cat >services.jsonl <<LOG
{"timestamp": "2026-12-05T07:00:00.000Z", "level": "info", "service": "order", "trace_id": "$trace", "span_id": "00f067aa0ba902b7", "message": "order placed"}
{"timestamp": "2026-12-05T07:00:00.100Z", "level": "info", "service": "order", "trace_id": "0af7651916cd43dd8448eb211c80319c", "span_id": "b7ad6b7169203331", "message": "another order"}
{"timestamp": "2026-12-05T07:00:00.200Z", "level": "error", "service": "payment", "trace_id": "$trace", "span_id": "00f067aa0ba902b8", "message": "card declined"}
LOG
"$bin/logcorr" grep "$trace" services.jsonl | tee grep.txt
[ "$(grep -c . grep.txt)" = 2 ] && grep -q "card declined" grep.txt || fail "logcorr grep"

say "traceaudit metrics --help (the dashboards ship in the package)"
"$bin/traceaudit" metrics --help >/dev/null
"$bin/python" -c "from traceaudit import metrics; print(len(metrics.load_panels()), 'panels')"

say "shop without the [shop] extra"
set +e
"$bin/shop" --help 2>shop.err
status=$?
set -e
cat shop.err
[ "$status" = 2 ] && grep -q "traceaudit\[shop\]" shop.err || fail "shop without the extra: $status"

say "pip install '$(basename "$wheel")[shop]'"
"$bin/pip" install -q "$wheel[shop]" 2>&1 | grep -v "^WARNING: Location" || true
"$bin/shop" --help >/dev/null || fail "shop --help with the [shop] extra"
echo "with [shop]: $(packages) packages"
say "wheel check passed"
