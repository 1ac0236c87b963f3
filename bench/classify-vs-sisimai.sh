#!/usr/bin/env bash
# Side by side, in one run, on the same replies: Rebound's classifier and
# libsisimai-perl's Sisimai->match, each on one core. On a shared machine the load
# changes from second to second, so the two take turns for ROUNDS rounds of SECONDS
# each and the best round of each is compared (the least disturbed one). Rates are
# per second on a core (the time each process actually ran), not per wall second.
# Usage: bench/classify-vs-sisimai.sh [SECONDS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-2}
rounds=${2:-5}
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
echo "mix: $(wc -l < "$mix") replies, $(wc -c < "$mix") bytes; $rounds rounds of ${seconds}s each, taking turns"
cargo bench -q -p rebound-classify --bench classify_throughput --no-run 2>/dev/null
rate() { grep -o '[0-9]* replies/s' | cut -d' ' -f1; }
best_ours=0 best_theirs=0
for r in $(seq "$rounds"); do
  a=$(cargo bench -q -p rebound-classify --bench classify_throughput -- "$mix" "$seconds" 2>/dev/null | tail -1 | rate)
  b=$(perl bench/sisimai-match.pl "$mix" "$seconds" | tail -1 | rate)
  echo "round $r: rebound $a replies/s, Sisimai->match $b replies/s"
  (( a > best_ours )) && best_ours=$a
  (( b > best_theirs )) && best_theirs=$b
done
echo "best: rebound $best_ours replies/s on one core, Sisimai->match $best_theirs replies/s"
echo "ratio: rebound is $(( best_ours / best_theirs ))x Sisimai->match"
