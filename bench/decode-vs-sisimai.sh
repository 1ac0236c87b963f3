#!/usr/bin/env bash
# Side by side, in one run, on the same messages: Rebound's decoder and Perl Sisimai
# (libsisimai-perl), each on one core, no disk IO timed. On a shared machine the load
# changes from second to second, so the two take turns for ROUNDS rounds of SECONDS each
# and the best round of each is compared (the least disturbed one). Rates are per second
# on a core (the time each process actually ran), not per wall second.
# Usage: bench/decode-vs-sisimai.sh [MAILDIR] [SECONDS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(realpath "${1:-../shared/corpus/maildir/bsd}")
seconds=${2:-3}
rounds=${3:-5}
if ! perl -MSisimai -e1 2>/dev/null; then
  echo "installing libsisimai-perl (Debian package)" >&2
  { apt-get update -qq && apt-get install -y -qq libsisimai-perl; } >/dev/null
fi
cargo bench -q -p rebound-decode --bench decode_throughput --no-run 2>/dev/null
echo "$(find "$dir" -maxdepth 1 -type f | wc -l) messages in $dir; $rounds rounds of ${seconds}s each, taking turns"
rate() { grep -o '[0-9]* messages/s' | cut -d' ' -f1; }
best_ours=0 best_theirs=0
for r in $(seq "$rounds"); do
  ours=$(cargo bench -q -p rebound-decode --bench decode_throughput -- "$dir" "$seconds" 2>/dev/null | tail -1)
  theirs=$(perl bench/sisimai-make.pl "$dir" "$seconds" 2>/dev/null | tail -1)
  (( r == 1 )) && { echo "$ours"; echo "$theirs"; }
  a=$(rate <<<"$ours") b=$(rate <<<"$theirs")
  echo "round $r: rebound $a messages/s, Sisimai->make $b messages/s"
  (( a > best_ours )) && best_ours=$a
  (( b > best_theirs )) && best_theirs=$b
done
echo "best: rebound $best_ours messages/s on one core, Sisimai->make $best_theirs messages/s"
echo "ratio: rebound is $(( best_ours / best_theirs ))x Perl Sisimai"
