#!/usr/bin/env bash
# HTTP throughput of a cluster in Redis mode, measured with wrk through nginx.
#
#   bash benches/cluster.sh [seconds] [connections] [shops]
#
# Builds the release binary, starts deploy/local-cluster.sh (a private
# redis-server with AOF, three nodes, nginx in front) on free loopback ports,
# creates `shops` shops (default 6) of 20 online agents of max load 50 each,
# moves them so that each node owns as many, then lets wrk post inquiries
# from distinct buyers through nginx, spread over the shops in turn; every
# tenth request reads one agent instead. Each shop is owned by one node at a
# time, so a request that reaches another node is forwarded to the owner. Prints wrk's summary and the cluster's counters,
# then stops the cluster (the nodes drain and hand their shops back).
# Needs redis-server, nginx, wrk and curl. Everything stays on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/common.sh
secs=${1:-10}
conns=${2:-32}
shops=${3:-6}
for tool in wrk redis-server nginx curl; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: apt-get install wrk redis-server nginx curl" >&2; exit 1; }
done
cargo build --release -q -p fenliu
bin="${CARGO_TARGET_DIR:-target}/release/fenliu"
# Node ports are consecutive: look for a free run of three.
while :; do
  base=$(free_port)
  ((base + 2 < 65536)) || continue
  ok=1
  for p in $((base + 1)) $((base + 2)); do
    python3 -c "import socket,sys; s=socket.socket(); s.bind(('127.0.0.1',$p))" 2>/dev/null || ok=0
  done
  ((ok)) && break
done
lb_port=$(free_port)
export FENLIU_JWT_SECRET=bench-secret
log=$(mktemp)
lua=$(mktemp --suffix=.lua)
FENLIU_BIN="$bin" LB_PORT=$lb_port NODE_PORT_BASE=$base REDIS_PORT=$(free_port) \
  bash deploy/local-cluster.sh >"$log" 2>&1 &
cluster=$!
trap 'kill -TERM $cluster 2>/dev/null || true; wait $cluster 2>/dev/null || true; rm -f "$log" "$lua"' EXIT
lb="http://127.0.0.1:$lb_port"
for _ in $(seq 300); do
  curl -sf "$lb/readyz" >/dev/null 2>&1 && break
  kill -0 $cluster 2>/dev/null || { cat "$log" >&2; exit 1; }
  sleep 0.2
done
curl -sf "$lb/readyz" >/dev/null || { cat "$log" >&2; echo "the cluster did not become ready" >&2; exit 1; }
svc=$("$bin" token --role service --shop '*' --sub svc)
for s in $(seq 1 "$shops"); do
  staff_shop "$bin" "$lb" "bench$s" 20
done
# Spread the shops over the nodes (the first request of each would otherwise
# pick its owner, and nginx's round robin can hand them all to one node).
for s in $(seq 1 "$shops"); do
  admin=$("$bin" token --role admin --shop "bench$s" --sub admin)
  curl -sf -XPOST "$lb/v1/shops/bench$s/move" -H "Authorization: Bearer $admin" \
    -d "{\"node_id\":\"n$(((s - 1) % 3 + 1))\"}" >/dev/null
done
cat >"$lua" <<LUA
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
local n = 0
request = function()
  n = n + 1
  local shop = "bench" .. (n % $shops + 1)
  if n % 10 == 0 then
    return wrk.format("GET", "/v1/shops/" .. shop .. "/agents/a1", {["Authorization"] = "Bearer $svc"})
  end
  local body = '{"buyer_id":"b' .. tid .. '-' .. n .. '","entry":"product_detail"}'
  return wrk.format("POST", "/v1/shops/" .. shop .. "/inquiries",
    {["Authorization"] = "Bearer $svc", ["Content-Type"] = "application/json"}, body)
end
LUA
echo "wrk: ${secs}s, ${conns} connections, 2 threads, through nginx to 3 nodes on Redis, $shops shops"
wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$lua" "$lb" | sed -n '1,20p'
for s in $(seq 1 "$shops"); do
  owner=$(curl -s "$lb/v1/shops/bench$s/owner" -H "Authorization: Bearer $svc")
  queue=$(curl -s "$lb/v1/shops/bench$s/queue?limit=1" -H "Authorization: Bearer $svc" | python3 -c 'import json,sys; print(json.load(sys.stdin)["length"])')
  echo "bench$s: owner $owner, queued $queue"
done
