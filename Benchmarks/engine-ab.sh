#!/usr/bin/env bash
# Compares engine-throughput binaries on a noisy machine: the binaries take turns, ROUNDS
# times, on the same corpus and rules, and each one's medians are printed: the ratio
# (parse + detect against parse alone), detection time over parse time (the engine's cost
# in units of the same run's parse, which follows the machine's speed better than either
# alone) and detection ns per event.
#
#   Benchmarks/engine-ab.sh CORPUS REPS ROUNDS BINARY...
#
# For example, a build of the previous commit (a worktree at some `*/main`, built with
# `swift build -c release --product engine-throughput` in its Benchmarks/) against this one:
#
#   Benchmarks/engine-ab.sh /tmp/kaudit-bench/audit-67108864.ndjson 5 8 \
#       ../base/main/Benchmarks/.build/release/engine-throughput Benchmarks/.build/release/engine-throughput
#
# RULES (default: the bundled Detections/) sets the rule directory; BINARY@DIR gives one
# binary its own (an older build that cannot load the current pack runs the pack of its day).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
[ $# -ge 4 ] || { sed -n '2,17p' "$0" >&2; exit 2; }
corpus="$1"; reps="$2"; rounds="$3"; shift 3
rules="${RULES:-$here/../Detections}"
results="$(mktemp)"
trap 'rm -f "$results"' EXIT
for _ in $(seq "$rounds"); do
    for arg in "$@"; do
        binary="${arg%%@*}"
        dir="$rules"
        [ "$binary" != "$arg" ] && dir="${arg#*@}"
        "$binary" "$corpus" --rules "$dir" --reps "$reps" 2>/dev/null | grep '"bench":"engine"' |
            BINARY="$arg" python3 -c '
import json, os, sys
j = json.loads(sys.stdin.read())
parse = j["bytes"] / j["parse_GBps"] / 1e9
both = j["bytes"] / j["detect_GBps"] / 1e9
print(os.environ["BINARY"], j["ratio"], (both - parse) / parse, (both - parse) / j["events"] * 1e9)' >>"$results"
    done
done
python3 - "$results" <<'PY'
import collections, statistics, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    binary, ratio, share, ns = line.split()
    runs[binary].append((float(ratio), float(share), float(ns)))
for binary, v in runs.items():
    print(binary)
    print("  ratio median %.3f  [%s]" % (statistics.median(x[0] for x in v), " ".join("%.3f" % x[0] for x in v)))
    print("  detection / parse median %.3f, detection %.0f ns per event" % (
        statistics.median(x[1] for x in v), statistics.median(x[2] for x in v)))
PY
