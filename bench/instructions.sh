#!/usr/bin/env bash
# Instructions per classified reply, counted by callgrind: repeatable whatever else the
# machine is doing (wall-clock figures on a shared machine wander). Usage:
#   bench/instructions.sh [MIXFILE] [PASSES]
set -euo pipefail
cd "$(dirname "$0")/.."
mix=${1:-}
passes=${2:-20}
if [ -z "$mix" ]; then
  mix=$(mktemp); trap 'rm -f "$mix"' EXIT
  cargo build -q --release -p rebound-cli
  ./target/release/rebound rules examples > "$mix"
  tail -n +2 testdata/replies-eval.tsv | cut -f1 >> "$mix"
fi
cargo bench -q -p rebound-classify --bench classify_throughput --no-run 2>/dev/null
bin=$(ls -t target/release/deps/classify_throughput-* | grep -v '\.d$' | head -1)
count() { REBOUND_BENCH_PASSES=$1 valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$mix" 2>&1 | awk '/Collected/ {print $4}'; }
base=$(count 0)
full=$(count "$passes")
n=$(( passes * $(wc -l < "$mix") ))
echo "instructions per reply: $(( (full - base) / n )) (over $n classifications)"
