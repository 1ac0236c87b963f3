#!/usr/bin/env bash
# Side by side, in one run, on the same replies: Rebound's classifier and
# libsisimai-perl's Sisimai->match, each on one core. Prints both rates and the ratio.
# Usage: bench/classify-vs-sisimai.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-5}
if ! perl -MSisimai -e1 2>/dev/null; then
  echo "installing libsisimai-perl (Debian package)" >&2
  { apt-get update -qq && apt-get install -y -qq libsisimai-perl; } >/dev/null
fi
mix=$(mktemp)
trap 'rm -f "$mix"' EXIT
# The realistic mix: every example in the built-in rules plus the evaluation set.
cargo build -q --release -p rebound-cli
./target/release/rebound rules examples > "$mix"
tail -n +2 testdata/replies-eval.tsv | cut -f1 >> "$mix"
echo "mix: $(wc -l < "$mix") replies, $(wc -c < "$mix") bytes"
cargo bench -q -p rebound-classify --bench classify_throughput --no-run 2>/dev/null
ours=$(cargo bench -q -p rebound-classify --bench classify_throughput -- "$mix" "$seconds" 2>/dev/null | tail -1)
theirs=$(perl bench/sisimai-match.pl "$mix" "$seconds" | tail -1)
echo "$ours"
echo "$theirs"
a=$(grep -o '[0-9]* replies/s' <<<"$ours" | cut -d' ' -f1)
b=$(grep -o '[0-9]* replies/s' <<<"$theirs" | cut -d' ' -f1)
echo "ratio: rebound is $(( a / b ))x Sisimai->match"
