#!/usr/bin/env bash
# Compares engine-throughput binaries on a noisy machine: the binaries take turns, ROUNDS
# times, on the same corpus and rules, and each one's medians are printed: the ratio
# (parse + detect against parse alone), detection time over parse time (the engine's cost
# in units of the same run's parse, which follows the machine's speed better than either
# alone) and detection ns per event; then the same from each binary's fastest parse and
# parse + detect passes over all rounds (a busy host only ever slows a pass).
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
[ $# -ge 4 ] || { sed -n '2,18p' "$0" >&2; exit 2; }
corpus="$1"; reps="$2"; rounds="$3"; shift 3
rules="${RULES:-$here/../Detections}"
results="$(mktemp)"
trap 'rm -f "$results"' EXIT
for _ in $(seq "$rounds"); do
    for arg in "$@"; do
        binary="${arg%%@*}"
        dir="$rules"
        [ "$binary" != "$arg" ] && dir="${arg#*@}"
        "$binary" "$corpus" --rules "$dir" --reps "$reps" 2>/dev/null | grep -E '"bench":"engine(_parse|_detect)?"' |
            BINARY="$arg" python3 -c '
import json, os, sys
lines = {j["bench"]: j for j in map(json.loads, sys.stdin)}
j = lines["engine"]
parse = j["bytes"] / j["parse_GBps"] / 1e9
both = j["bytes"] / j["detect_GBps"] / 1e9
print(os.environ["BINARY"], j["ratio"], (both - parse) / parse, (both - parse) / j["events"] * 1e9,
      min(lines["engine_parse"]["seconds"]), min(lines["engine_detect"]["seconds"]), j["events"])' >>"$results"
    done
done
python3 - "$results" <<'PY'
import collections, statistics, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    binary, *numbers = line.split()
    runs[binary].append(tuple(map(float, numbers)))
for binary, v in runs.items():
    print(binary)
    print("  ratio median %.3f  [%s]" % (statistics.median(x[0] for x in v), " ".join("%.3f" % x[0] for x in v)))
    print("  detection / parse median %.3f, detection %.0f ns per event" % (
        statistics.median(x[1] for x in v), statistics.median(x[2] for x in v)))
    # The fastest parse and parse + detect passes of all rounds: a busy host only slows a
    # pass, so the minimums are the steadiest estimate of what each costs.
    parse, both, events = min(x[3] for x in v), min(x[4] for x in v), v[0][5]
    print("  fastest passes: ratio %.3f, detection %.1f ns per event" % (parse / both, (both - parse) / events * 1e9))
PY
