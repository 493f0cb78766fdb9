#!/usr/bin/env bash
# Where the zstd replay's time goes (issue 5's 0.9 x `zstd -dc` target): the decompressor
# alone, kaudit's parse alone on one core, parse + detect on one core, and parse alone and
# parse + detect of the archive on all cores, alternated per repetition, with wall and CPU
# seconds (user + system) of each. `scan_zst_floor` is the archive's scan with one rule that
# can never match: what the detector's own per-event duties (event time, duplicate table,
# stage gate, index lookup) cost before any rule does.
#
#   Benchmarks/zstd-bound.sh [BYTES] [REPS]     default: 1073741824 bytes (1 GiB), 5 repetitions
#
# Uses the corpus and archive `replay.sh` makes (run it first), in KAUDIT_BENCH_DIR
# (default /tmp/kaudit-bench). Prints one line per run and the medians.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
bytes="${1:-1073741824}"
reps="${2:-5}"
work="${KAUDIT_BENCH_DIR:-/tmp/kaudit-bench}"
corpus="$work/audit-$bytes.ndjson"
[ -s "$corpus" ] && [ -s "$corpus.zst" ] || { echo "run Benchmarks/replay.sh $bytes first" >&2; exit 2; }
swift build -c release --package-path "$root" --product kaudit >&2
kaudit="$root/.build/release/kaudit"
export KAUDIT_DETECTIONS="$root/Detections"
out="$work/zstd-bound.txt"
floor="$work/floor-rules"
mkdir -p "$floor"
cat > "$floor/never.yml" <<'YAML'
title: Never Matches
id: 6f0d3c4e-1111-4a2b-9c3d-000000000001
status: test
level: low
logsource:
  product: kubernetes
  service: audit
detection:
  selection:
    verb: no-such-verb
  condition: selection
YAML
: > "$out"
run() {
    local name="$1"
    shift
    /usr/bin/time -f "%e %U %S" -o "$work/zstd-bound.time" "$@" > /dev/null 2> /dev/null
    read -r wall user sys < "$work/zstd-bound.time"
    echo "$name $wall $(echo "$user + $sys" | bc)" | tee -a "$out"
}
for _ in $(seq "$reps"); do
    run zstd_dc zstd -dc "$corpus.zst"
    run stats_plain_1core "$kaudit" stats --jobs 1 "$corpus"
    run scan_plain_1core "$kaudit" scan --jobs 1 "$corpus"
    run stats_zst "$kaudit" stats "$corpus.zst"
    run scan_zst "$kaudit" scan "$corpus.zst"
    run scan_zst_floor "$kaudit" scan --rules "$floor" "$corpus.zst"
done
echo "medians (name, wall s, cpu s):"
python3 - "$out" <<'PY'
import collections, statistics, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    name, wall, cpu = line.split()
    runs[name].append((float(wall), float(cpu)))
for name, v in runs.items():
    print(f"  {name} {statistics.median(w for w, _ in v):.2f} {statistics.median(c for _, c in v):.2f}")
PY
