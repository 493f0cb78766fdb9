#!/usr/bin/env bash
# Replay benchmark (issue 5's targets): kaudit reading compressed archives against the
# decompressors alone, on the same archives, in one run.
#
#   Benchmarks/replay.sh [BYTES] [REPS]     default: 268435456 bytes (256 MiB), 5 repetitions
#
# Steps: build kaudit (release); generate the synthetic corpus (seed 42) unless it exists;
# compress it with `zstd -3` and `gzip -6` unless done; then, for each repetition, interleaved:
#   zstd -dc / gzip -dc FILE > /dev/null     the decompressor alone (the reference)
#   kaudit stats FILE                        read + parse (no rules)
#   kaudit scan FILE                         read + parse + the bundled rules
# for the plain file, the gzip archive and the zstd archive. Throughput is bytes of
# decompressed input per second (MB = 10^6 bytes); peak RSS from /usr/bin/time. Prints one
# JSON object per measurement and a summary with medians and the targets of issue 5.
# Set KAUDIT_BENCH_DIR to keep the corpus elsewhere (default /tmp/kaudit-bench).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
bytes="${1:-268435456}"
reps="${2:-5}"
work="${KAUDIT_BENCH_DIR:-/tmp/kaudit-bench}"
mkdir -p "$work"
corpus="$work/audit-$bytes.ndjson"

echo "== building (release)" >&2
swift build -c release --package-path "$here" --product audit-gen >&2
swift build -c release --package-path "$root" --product kaudit >&2
kaudit="$root/.build/release/kaudit"
[ -s "$corpus" ] || "$here/.build/release/audit-gen" "$corpus" "$bytes" 42
[ -s "$corpus.zst" ] || zstd -q -3 -f "$corpus" -o "$corpus.zst"
[ -s "$corpus.gz" ] || gzip -6 -c "$corpus" > "$corpus.gz"
size=$(stat -c %s "$corpus")

out="$work/replay.jsonl"
: > "$out"
# measure NAME COMMAND...: one timed run, its wall seconds and peak RSS as a JSON line.
measure() {
    local name="$1"
    shift
    /usr/bin/time -o "$work/replay.time" -f "%e %M" "$@" > /dev/null 2>&1
    read -r seconds rss < "$work/replay.time"
    echo "{\"bench\":\"$name\",\"bytes\":$size,\"seconds\":$seconds,\"max_rss_kib\":$rss}" | tee -a "$out"
}
for _ in $(seq "$reps"); do
    measure zstd_dc zstd -dc "$corpus.zst"
    measure gzip_dc gzip -dc "$corpus.gz"
    for kind in plain gz zst; do
        file="$corpus"
        [ "$kind" = plain ] || file="$corpus.$kind"
        measure "kaudit_stats_$kind" "$kaudit" stats "$file" --format json
        measure "kaudit_scan_$kind" "$kaudit" scan "$file" --summary none
    done
done

python3 - "$out" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
def med(name, key="seconds"):
    return statistics.median(r[key] for r in rows if r["bench"] == name)
size = rows[0]["bytes"]
def mbps(name):
    return size / med(name) / 1e6
names = ["zstd_dc", "gzip_dc"] + [f"kaudit_{c}_{k}" for k in ("plain", "gz", "zst") for c in ("stats", "scan")]
print(f"replay: {size / 1e6:.0f} MB of audit log, medians of {len(rows) // len(names)}", file=sys.stderr)
for n in names:
    print(f"  {n:22s} {mbps(n):8.0f} MB/s   peak RSS {med(n, 'max_rss_kib') / 1024:6.1f} MiB", file=sys.stderr)
targets = {
    "zstd_scan_vs_zstd_dc": mbps("kaudit_scan_zst") / mbps("zstd_dc"),
    "gzip_scan_MBps": mbps("kaudit_scan_gz"),
    "zstd_stats_vs_zstd_dc": mbps("kaudit_stats_zst") / mbps("zstd_dc"),
    "gzip_stats_MBps": mbps("kaudit_stats_gz"),
    "max_rss_MiB": max(r["max_rss_kib"] for r in rows if r["bench"].startswith("kaudit")) / 1024,
}
print(json.dumps({"bench": "replay_summary", **{k: round(v, 3) for k, v in targets.items()}}))
print(f"  zstd replay (scan) / zstd -dc: {targets['zstd_scan_vs_zstd_dc']:.2f} (target >= 0.9)", file=sys.stderr)
print(f"  gzip replay (scan): {targets['gzip_scan_MBps']:.0f} MB/s (target >= 300 per core)", file=sys.stderr)
print(f"  peak RSS of kaudit: {targets['max_rss_MiB']:.1f} MiB (target <= 64 + zstd window)", file=sys.stderr)
PY
