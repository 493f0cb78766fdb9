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
# for the plain file, the gzip archive and the zstd archive, on all cores (the default
# --jobs), and `kaudit scan --jobs 1 FILE` (one core) on the plain file. Throughput is bytes
# of decompressed input per second (MB = 10^6 bytes), end to end (wall clock, rule loading
# included) and, for scans, of the scan alone (the summary's elapsed_seconds, rule loading
# excluded); peak RSS from /usr/bin/time. Prints one JSON object per measurement and a
# summary with medians and the targets of issue 5.
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
# measure NAME COMMAND...: one timed run, its wall seconds, peak RSS and (for a scan with
# --summary json) the scan's own seconds as a JSON line.
measure() {
    local name="$1"
    shift
    /usr/bin/time -o "$work/replay.time" -f "%e %M" "$@" > /dev/null 2> "$work/replay.stderr"
    read -r seconds rss < "$work/replay.time"
    local scan
    scan=$(grep -o '"elapsed_seconds":[0-9.e+-]*' "$work/replay.stderr" | head -1 | cut -d: -f2 || true)
    echo "{\"bench\":\"$name\",\"bytes\":$size,\"seconds\":$seconds,\"scan_seconds\":${scan:-null},\"max_rss_kib\":$rss}" | tee -a "$out"
}
for _ in $(seq "$reps"); do
    measure zstd_dc zstd -dc "$corpus.zst"
    measure gzip_dc gzip -dc "$corpus.gz"
    for kind in plain gz zst; do
        file="$corpus"
        [ "$kind" = plain ] || file="$corpus.$kind"
        measure "kaudit_stats_$kind" "$kaudit" stats "$file" --format json
        measure "kaudit_scan_$kind" "$kaudit" scan "$file" --summary json
    done
    measure kaudit_scan_plain_1core "$kaudit" scan "$corpus" --summary json --jobs 1
done

python3 - "$out" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
def med(name, key="seconds"):
    return statistics.median(r[key] for r in rows if r["bench"] == name)
size = rows[0]["bytes"]
def mbps(name):
    return size / med(name) / 1e6
names = ["zstd_dc", "gzip_dc"] + [f"kaudit_{c}_{k}" for k in ("plain", "gz", "zst") for c in ("stats", "scan")] + ["kaudit_scan_plain_1core"]
def scan_mbps(name):
    return size / statistics.median(r["scan_seconds"] for r in rows if r["bench"] == name) / 1e6
print(f"replay: {size / 1e6:.0f} MB of audit log, medians of {len(rows) // len(names)}", file=sys.stderr)
for n in names:
    own = f"   scan alone {scan_mbps(n):6.0f} MB/s" if n.startswith("kaudit_scan") else ""
    print(f"  {n:24s} {mbps(n):8.0f} MB/s   peak RSS {med(n, 'max_rss_kib') / 1024:6.1f} MiB{own}", file=sys.stderr)
targets = {
    "zstd_scan_vs_zstd_dc": mbps("kaudit_scan_zst") / mbps("zstd_dc"),
    "gzip_scan_MBps": mbps("kaudit_scan_gz"),
    "plain_scan_2core_vs_1core": mbps("kaudit_scan_plain") / mbps("kaudit_scan_plain_1core"),
    "plain_scan_alone_2core_vs_1core": scan_mbps("kaudit_scan_plain") / scan_mbps("kaudit_scan_plain_1core"),
    "zstd_stats_vs_zstd_dc": mbps("kaudit_stats_zst") / mbps("zstd_dc"),
    "gzip_stats_MBps": mbps("kaudit_stats_gz"),
    "max_rss_MiB": max(r["max_rss_kib"] for r in rows if r["bench"].startswith("kaudit")) / 1024,
}
print(json.dumps({"bench": "replay_summary", **{k: round(v, 3) for k, v in targets.items()}}))
print(f"  zstd replay (scan) / zstd -dc: {targets['zstd_scan_vs_zstd_dc']:.2f} (target >= 0.9)", file=sys.stderr)
print(f"  gzip replay (scan): {targets['gzip_scan_MBps']:.0f} MB/s (target >= 300 per core)", file=sys.stderr)
print(f"  plain replay (scan), all cores / one core: {targets['plain_scan_2core_vs_1core']:.2f} end to end, "
      f"{targets['plain_scan_alone_2core_vs_1core']:.2f} for the scan alone (target >= 1.8)", file=sys.stderr)
print(f"  peak RSS of kaudit: {targets['max_rss_MiB']:.1f} MiB (target <= 64 + zstd window)", file=sys.stderr)
PY
