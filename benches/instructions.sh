#!/usr/bin/env bash
# Instructions per routing decision, counted by callgrind (stable on a noisy
# machine, unlike wall time): the inquiries of the `decision_cost` example,
# each one `Shop::handle` call. Needs valgrind (apt-get install valgrind).
#
#   bash benches/instructions.sh [agents] [inquiries] [strategy]
#
# FENLIU_DAY_LOG=1 counts an inquiry with the day's log kept and encoded, as
# a node does (the example's header says how).
set -euo pipefail
cd "$(dirname "$0")/.."
agents=${1:-1000}
inquiries=${2:-4000}
strategy=${3:-least_saturation}
command -v valgrind >/dev/null || { echo "valgrind is needed: apt-get install -y valgrind" >&2; exit 1; }
cargo build --release -q -p fenliu-core --example decision_cost
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
valgrind --tool=callgrind --toggle-collect='decision_cost::timed_inquiry' \
  --callgrind-out-file="$out/cg" "${CARGO_TARGET_DIR:-target}/release/examples/decision_cost" \
  "$agents" "$inquiries" "$strategy" 2>"$out/log"
collected=$(grep -o 'Collected : [0-9]*' "$out/log" | grep -o '[0-9]*$')
echo "$agents agents, $strategy, day log ${FENLIU_DAY_LOG:-0}: $((collected / inquiries)) instructions per inquiry ($collected over $inquiries)"
