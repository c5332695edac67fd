#!/usr/bin/env bash
# HTTP throughput of one node on the embedded store, measured with wrk.
#
#   bash benches/http.sh [seconds] [connections]
#
# Builds the release binary, starts a node on a free loopback port, creates a
# shop with 200 online agents of max load 50 (10,000 slots), then lets wrk post
# inquiries from distinct buyers for the given time; every tenth request reads
# the queue of a second shop instead, so reads and writes mix. Prints wrk's
# summary. Everything stays on 127.0.0.1 and stops by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/common.sh
secs=${1:-10}
conns=${2:-32}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
cargo build --release -q -p fenliu
bin=target/release/fenliu
port=$(free_port)
export FENLIU_JWT_SECRET=bench-secret
FENLIU_LISTEN=127.0.0.1:$port RUST_LOG=warn "$bin" serve --workers 2 >/dev/null 2>&1 &
node=$!
trap 'kill $node 2>/dev/null || true; rm -f "$lua"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
svc=$("$bin" token --role service --shop bench --sub svc)
staff_shop "$bin" "http://127.0.0.1:$port" bench 200
lua=$(mktemp --suffix=.lua)
cat >"$lua" <<LUA
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
local n = 0
request = function()
  n = n + 1
  if n % 10 == 0 then
    return wrk.format("GET", "/v1/shops/bench/agents/a1", {["Authorization"] = "Bearer $svc"})
  end
  local body = '{"buyer_id":"b' .. tid .. '-' .. n .. '","entry":"product_detail"}'
  return wrk.format("POST", "/v1/shops/bench/inquiries",
    {["Authorization"] = "Bearer $svc", ["Content-Type"] = "application/json"}, body)
end
LUA
echo "wrk: ${secs}s, ${conns} connections, 2 threads, against one node (2 HTTP workers)"
wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$lua" "http://127.0.0.1:$port" | sed -n '1,20p'
curl -s "http://127.0.0.1:$port/metrics" | grep -E '^fenliu_(inquiries_total|queue_length|active_conversations)' || true
