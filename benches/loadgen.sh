#!/usr/bin/env bash
# fenliu's HTTP throughput as a ratio of the cheapest actix-web JSON endpoint,
# measured by `fenliu loadgen --baseline` in the same run, for every workload
# docs/benchmarks.md quotes:
#
#   bash benches/loadgen.sh [what ...]     (default: all of them)
#
#   embedded   one node, embedded store, one shop of 200 agents (max load 50,
#              no-queue mode, recent contact off), every request a new
#              buyer's inquiry, 64 connections, 10 s
#   day        the same shop, inquiries and an end of each assigned
#              conversation, five 4 s windows (does the node slow down as the
#              day's volume grows?)
#   redis1     one node on a private redis-server with AOF and
#              `appendfsync always`, the embedded workload
#   redis20    the same, the load spread over 20 shops
#   cluster    three nodes on that Redis behind nginx (deploy/local-cluster.sh),
#              20 shops
#   halfpeak   the embedded workload flat out, then on a fresh node at half
#              the throughput it reached (`--rate`): latency at half the peak
#
# FENLIU_PIN=1 pins the node and the load generator to a core each (below).
# FENLIU_WORKERS=N gives each node N HTTP workers (default 2; pinned: 1).
# FENLIU_SERVER=path/to/fenliu runs the node(s) from another build (an older
# commit, say) while loadgen stays the current one: an A/B in one run. Prints
# one line per workload: throughput, baseline, ratio, p50/p99 (ms), and the
# checks. Needs redis-server and nginx for the Redis ones. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/common.sh
whats=("$@")
[ ${#whats[@]} -gt 0 ] || whats=(embedded day redis1 redis20 cluster halfpeak)
cargo build --release -q -p fenliu
bin="${CARGO_TARGET_DIR:-target}/release/fenliu"
server="${FENLIU_SERVER:-$bin}"
export FENLIU_JWT_SECRET=bench-secret
# FENLIU_PIN=1: the node on CPU 0 (one HTTP worker) and the load generator on
# CPU 1 (taskset), so that neither waits for a core the other is using; the
# latency from due then is the node's, not the generator's lateness.
node_cpu="" loadgen_cpu="" workers=${FENLIU_WORKERS:-2}
if [ "${FENLIU_PIN:-0}" = 1 ]; then
  command -v taskset >/dev/null || { echo "FENLIU_PIN needs taskset (util-linux)" >&2; exit 1; }
  node_cpu="taskset -c 0" loadgen_cpu="taskset -c 1" workers=1
fi
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

wait_ready() {
  for _ in $(seq 300); do curl -sf "$1/readyz" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "$1 did not become ready" >&2
  return 1
}

# Both set a variable rather than print (a command substitution would run
# them in a subshell, and the processes they start would escape `pids`).
start_redis() { # sets $redis
  local port
  port=$(free_port)
  # A directory of its own: a later Redis must not load an earlier one's AOF.
  mkdir -p "$tmp/redis-$port-$RANDOM"
  redis-server --port "$port" --bind 127.0.0.1 --dir "$(ls -d "$tmp"/redis-"$port"-* | tail -1)" --appendonly yes \
    --appendfsync always --save "" --daemonize no >"$tmp/redis-$port.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
  redis="redis://127.0.0.1:$port"
}

start_node() { # start_node [redis url]; sets $url
  local port
  port=$(free_port)
  FENLIU_LISTEN=127.0.0.1:$port FENLIU_REDIS_URL="${1:-}" FENLIU_NODE_ID="bench-$port" \
    FENLIU_ADVERTISE_URL="http://127.0.0.1:$port" RUST_LOG=warn \
    $node_cpu "$server" serve --workers "$workers" >"$tmp/node-$port.log" 2>&1 &
  pids+=($!)
  url="http://127.0.0.1:$port"
  wait_ready "$url"
}

stop_all() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
}

measure() { # measure NAME TARGET loadgen-args...
  local name=$1 target=$2
  shift 2
  $loadgen_cpu "$bin" loadgen --target "$target" --baseline --json --no-progress "$@" >"$tmp/$name.json"
  python3 - "$name" "$tmp/$name.json" <<'PY'
import json, sys
name, path = sys.argv[1], sys.argv[2]
r = json.load(open(path))
run, base = r["run"], r["baseline"]
lat = run["latency_us"]
ws = run.get("windows") or []
windows = " ".join(f"{w['throughput_rps']:.0f}" for w in ws) if len(ws) > 1 else ""
bad = sum(n for code, n in run["answers"].items() if not code.startswith("2")) + run["transport_errors"]
checks = "checks ok" if not r["checks"]["violations"] else f"{len(r['checks']['violations'])} violations"
line = (f"{name:9} {run['throughput_rps']:8.0f} req/s  baseline {base['throughput_rps']:8.0f}  "
        f"ratio {r['ratio_to_baseline']:.3f}  p50 {lat['p50']/1000:.2f} ms  p99 {lat['p99']/1000:.2f} ms  "
        f"non-2xx {bad}  {checks}")
late = run.get("send_lateness_us")
if late:
    svc, blat = run["service_latency_us"], base["latency_us"]
    line += (f"\n          sent late p99 {late['p99']/1000:.2f} ms (loadgen); answered after sending p99 "
             f"{svc['p99']/1000:.2f} ms; the baseline at this rate: p99 {blat['p99']/1000:.2f} ms")
if windows:
    first, last = run["windows"][0]["throughput_rps"], run["windows"][-1]["throughput_rps"]
    line += f"\n          windows: {windows} req/s (last/first {last/first:.2f})"
print(line)
PY
}

for what in "${whats[@]}"; do
  case $what in
    embedded)
      start_node
      measure embedded "$url" --workload inquiries --connections 64 --duration-secs 10
      stop_all ;;
    day)
      start_node
      measure day "$url" --workload day --connections 64 --windows 5 --window-secs 4
      stop_all ;;
    redis1)
      start_redis; start_node "$redis"
      measure redis1 "$url" --workload inquiries --connections 64 --duration-secs 10
      stop_all ;;
    redis20)
      start_redis; start_node "$redis"
      measure redis20 "$url" --workload inquiries --shops 20 --connections 64 --duration-secs 10
      stop_all ;;
    cluster)
      lb_port=$(free_port)
      while :; do
        base=$(free_port)
        ((base + 2 < 65536)) || continue
        ok=1
        for p in $((base + 1)) $((base + 2)); do
          python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',$p))" 2>/dev/null || ok=0
        done
        ((ok)) && break
      done
      FENLIU_BIN="$server" LB_PORT=$lb_port NODE_PORT_BASE=$base REDIS_PORT=$(free_port) \
        REDIS_APPENDFSYNC=always bash deploy/local-cluster.sh >"$tmp/cluster.log" 2>&1 &
      pids+=($!)
      wait_ready "http://127.0.0.1:$lb_port"
      measure cluster "http://127.0.0.1:$lb_port" --workload inquiries --shops 20 --connections 64 --duration-secs 10
      stop_all ;;
    halfpeak)
      start_node
      measure peak "$url" --workload inquiries --connections 64 --duration-secs 10
      stop_all
      half=$(python3 -c "import json; print(round(json.load(open('$tmp/peak.json'))['run']['throughput_rps'] / 2))")
      start_node
      measure "half=$half" "$url" --workload inquiries --connections 64 --duration-secs 10 --rate "$half"
      stop_all ;;
    *) echo "unknown workload $what" >&2; exit 2 ;;
  esac
done
