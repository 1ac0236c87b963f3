#!/usr/bin/env bash
# Side by side, in one run, on the same messages: Rebound's decoder and Perl Sisimai
# (libsisimai-perl), each on one core, no disk IO timed. Prints both rates and the ratio.
# Usage: bench/decode-vs-sisimai.sh [MAILDIR] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-../shared/corpus/maildir/bsd}
seconds=${2:-5}
if ! perl -MSisimai -e1 2>/dev/null; then
  echo "installing libsisimai-perl (Debian package)" >&2
  { apt-get update -qq && apt-get install -y -qq libsisimai-perl; } >/dev/null
fi
cargo bench -q -p rebound-decode --bench decode_throughput --no-run 2>/dev/null
ours=$(cargo bench -q -p rebound-decode --bench decode_throughput -- "$(realpath "$dir")" "$seconds" 2>/dev/null | tail -1)
theirs=$(perl bench/sisimai-make.pl "$dir" "$seconds" 2>/dev/null | tail -1)
echo "$ours"
echo "$theirs"
a=$(grep -o '[0-9]* messages/s' <<<"$ours" | cut -d' ' -f1)
b=$(grep -o '[0-9]* messages/s' <<<"$theirs" | cut -d' ' -f1)
echo "ratio: rebound is $(( a / b ))x Perl Sisimai"
