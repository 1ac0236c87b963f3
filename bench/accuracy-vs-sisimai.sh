#!/usr/bin/env bash
# Accuracy of Rebound's classifier and of libsisimai-perl's Sisimai->match, side by
# side, on the labelled evaluation set (testdata/replies-eval.tsv).
# Usage: bench/accuracy-vs-sisimai.sh [FILE.tsv]
set -euo pipefail
cd "$(dirname "$0")/.."
set_file=${1:-testdata/replies-eval.tsv}
if ! perl -MSisimai -e1 2>/dev/null; then
  echo "installing libsisimai-perl (Debian package)" >&2
  { apt-get update -qq && apt-get install -y -qq libsisimai-perl; } >/dev/null
fi
cargo build -q --release -p rebound-cli
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tail -n +2 "$set_file" | awk -F'\t' '{ printf "{\"reply\":%s,\"host\":%s}\n", q($1), q($2) } function q(s) { gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); return "\"" s "\"" }' > "$work/in.jsonl"
./target/release/rebound classify --input json < "$work/in.jsonl" > "$work/ours.jsonl"
tail -n +2 "$set_file" | cut -f1 | perl -MSisimai -ne 'chomp; my $r = Sisimai->match($_); print((defined $r ? $r : "undefined"), "\n")' > "$work/sisimai.txt"
python3 bench/accuracy_report.py "$set_file" "$work/ours.jsonl" "$work/sisimai.txt"
