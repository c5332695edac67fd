#!/usr/bin/env bash
# Node memory per stored conversation, or per idle live shop, on the
# embedded store.
#
#   bash benches/memory.sh [conversations] [agents]
#   bash benches/memory.sh shops [shops]
#
# Builds the release binary, starts one node on a free loopback port, creates
# a shop of `agents` online agents (default 50) of max load 50, prints the
# node's resident memory, lets wrk post `conversations` inquiries from
# distinct buyers (default 30,000; those beyond the agents' 2,500 slots are
# queued), and prints the memory again with what it comes to per
# conversation. Three seconds of wrk send them on this machine; a slower one
# stores fewer, and says how many.
#
# `shops` instead reads the agents of `shops` distinct shops (default 20,000)
# with a service token of every shop: each read takes the shop's lease and
# starts its actor, which then sits idle (live, not passivated: that takes
# ten idle minutes), and prints the memory per live shop. Needs wrk and curl.
#
# FENLIU_SERVER=path/to/fenliu measures the node of another build (an older
# commit, say): run it and this build alternately, since a run moves by about
# ±150 bytes. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/common.sh
mode=conversations
if [ "${1:-}" = shops ]; then
  mode=shops
  shift
fi
total=${1:-30000}
agents=${2:-50}
[ "$mode" = shops ] && total=${1:-20000}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
cargo build --release -q -p fenliu
bin="${CARGO_TARGET_DIR:-target}/release/fenliu"
server="${FENLIU_SERVER:-$bin}"
port=$(free_port)
export FENLIU_JWT_SECRET=bench-secret
FENLIU_LISTEN=127.0.0.1:$port RUST_LOG=warn "$server" serve --workers 2 >/dev/null 2>&1 &
node=$!
lua=$(mktemp --suffix=.lua)
trap 'kill $node 2>/dev/null || true; rm -f "$lua"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
rss() { awk '/VmRSS/ {print $2}' "/proc/$node/status"; }
# halves REQUEST: a wrk script for two threads, each sending its half of
# `total` requests made by the Lua statements REQUEST (they see the thread
# number `tid` and the request number `n`); after its half a thread only
# asks /healthz.
halves() {
  cat >"$lua" <<LUA
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
local n = 0
request = function()
  n = n + 1
  if n > $((total / 2)) then return wrk.format("GET", "/healthz") end
  $1
end
LUA
}
if [ "$mode" = shops ]; then
  svc=$("$bin" token --role service --shop '*' --sub svc)
  before=$(rss)
  halves 'return wrk.format("GET", "/v1/shops/s" .. tid .. "-" .. n .. "/agents",
    {["Authorization"] = "Bearer '"$svc"'"})'
  wrk -t2 -c4 -d5s -s "$lua" "http://127.0.0.1:$port" >/dev/null
  live=$(curl -s "http://127.0.0.1:$port/metrics" | awk '/^fenliu_shop_actors / {print $2}')
  ((live > 0)) || { echo "no shop actor is live" >&2; exit 1; }
  after=$(rss)
  echo "$before kB before, $after kB with $live idle live shops"
  echo "per live shop: $(((after - before) * 1024 / live)) bytes"
  exit 0
fi
svc=$("$bin" token --role service --shop mem --sub svc)
staff_shop "$bin" "http://127.0.0.1:$port" mem "$agents"
before=$(rss)
# Each wrk thread its own buyers.
halves "local body = '{\"buyer_id\":\"b' .. tid .. '-' .. n .. '\",\"entry\":\"live\"}'
  return wrk.format(\"POST\", \"/v1/shops/mem/inquiries\",
    {[\"Authorization\"] = \"Bearer $svc\", [\"Content-Type\"] = \"application/json\"}, body)"
wrk -t2 -c4 -d3s -s "$lua" "http://127.0.0.1:$port" >/dev/null
stored=$(curl -s "http://127.0.0.1:$port/metrics" |
  awk '/^fenliu_(queue_length|active_conversations)\{shop="mem"\}/ {s += $2} END {print s + 0}')
((stored > 0)) || { echo "no conversation was stored" >&2; exit 1; }
after=$(rss)
echo "shop of $agents agents: $before kB staffed, $after kB with $stored conversations stored"
echo "per conversation: $(((after - before) * 1024 / stored)) bytes"
