#!/usr/bin/env bash
# `rebound serve` under wrk (Debian's package, installed if missing) on loopback,
# embedded store: single-event POST /v1/events requests/s with latency
# percentiles, then batches of 100 (events/s). wrk runs one thread so that most of
# the machine's two cores are the server's. Durations: WRK_SECONDS (default 10).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
cargo build -q --release -p rebound-cli
r=target/release/rebound
d=$(mktemp -d -t rebound-wrk.XXXXXX)
trap 'kill "${pid:-0}" 2>/dev/null || true; rm -rf "$d"' EXIT
$r --data "$d" tenant create --tenant bench >/dev/null
export REBOUND_KEY=$($r --data "$d" keys create --tenant bench 2>/dev/null)
$r --data "$d" serve --http 127.0.0.1:0 --smtp off >"$d/out" 2>/dev/null &
pid=$!
for _ in $(seq 100); do grep -q listening "$d/out" 2>/dev/null && break; sleep 0.1; done
addr=$(sed -n 's/.*http=\([^ ]*\).*/\1/p' "$d/out")
secs=${WRK_SECONDS:-10}
echo "single events, 32 connections:"
REBOUND_BATCH=1 wrk -t1 -c32 -d"${secs}s" -s bench/server-wrk.lua "http://$addr" | grep '^wrk:'
echo "batches of 100, 8 connections:"
REBOUND_BATCH=100 wrk -t1 -c8 -d"${secs}s" -s bench/server-wrk.lua "http://$addr" | grep '^wrk:'
kill -TERM $pid; wait $pid || true
