#!/usr/bin/env bash
# Instructions per decoded message, counted by callgrind over the development corpus:
# repeatable whatever else the machine is doing (wall-clock figures on a shared machine
# wander). The set-up (reading the files, building the tables, one warm-up pass) is
# counted once with zero passes and taken off. Usage:
#   bench/decode-instructions.sh [MAILDIR] [PASSES]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(realpath "${1:-../shared/corpus/maildir/bsd}")
passes=${2:-3}
cargo bench -q -p rebound-decode --bench decode_throughput --no-run 2>/dev/null
bin=$(ls -t target/release/deps/decode_throughput-* | grep -v '\.d$' | head -1)
count() { REBOUND_BENCH_PASSES=$1 valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$dir" 2>&1 | awk '/Collected/ {print $4}'; }
base=$(count 0)
full=$(count "$passes")
n=$(( passes * $(find "$dir" -maxdepth 1 -type f | wc -l) ))
echo "instructions per message: $(( (full - base) / n )) (over $n decodes)"
