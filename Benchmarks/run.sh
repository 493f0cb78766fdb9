#!/usr/bin/env bash
# Reader and engine benchmarks: kaudit against the simdjson baseline, on the same file, in
# one run, then the detection engine against parsing alone.
#
#   Benchmarks/run.sh [BYTES] [REPS]     default: 1073741824 bytes (1 GiB), 5 repetitions
#
# Steps: build the benchmark package (release), generate the synthetic corpus (seed 42)
# unless it exists, build ../shared/perf/simdjson_baseline.cpp against Debian's
# libsimdjson-dev, run both (1 and 2 cores), run the engine over the same file with the
# bundled Detections/ (and correlation state at its cap), then measure `kaudit stats` and
# `kaudit scan` end to end (streaming read, peak RSS). Results: one JSON object per line,
# then a summary.
# Set KAUDIT_BENCH_DIR to keep the corpus elsewhere (default /tmp/kaudit-bench).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
bytes="${1:-1073741824}"
reps="${2:-5}"
work="${KAUDIT_BENCH_DIR:-/tmp/kaudit-bench}"
mkdir -p "$work"
corpus="$work/audit-$bytes.ndjson"
baseline_src="$root/../shared/perf/simdjson_baseline.cpp"

need=()
dpkg -s libsimdjson-dev >/dev/null 2>&1 || need+=(libsimdjson-dev)
command -v g++ >/dev/null || need+=(g++)
if [ ${#need[@]} -gt 0 ]; then
    sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq && $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

echo "== building (release)" >&2
swift build -c release --package-path "$here" >&2
swift build -c release --package-path "$root" --product kaudit >&2
bin="$here/.build/release"

if [ ! -s "$corpus" ]; then
    echo "== generating $corpus" >&2
    "$bin/audit-gen" "$corpus" "$bytes" 42
fi

echo "== building the malloc counter and the simdjson baseline" >&2
gcc -O2 -shared -fPIC -o "$work/libmalloc_counter.so" "$here/malloc-counter/malloc_counter.c" -ldl
if [ -f "$baseline_src" ]; then
    g++ -O3 -march=native -std=c++17 -pthread "$baseline_src" -o "$work/sj_count" -lsimdjson
fi

out="$work/results.jsonl"
: > "$out"
echo "== kaudit reader" >&2
LD_PRELOAD="$work/libmalloc_counter.so" "$bin/reader-throughput" "$corpus" --reps "$reps" | tee -a "$out"
if [ -x "$work/sj_count" ]; then
    echo "== simdjson baseline (same file)" >&2
    "$work/sj_count" "$corpus" --reps "$reps" | sed 's/^{/{"bench":"simdjson","cores":1,/' | tee -a "$out"
    "$work/sj_count" "$corpus" --threads 2 --reps "$reps" | sed 's/^{/{"bench":"simdjson","cores":2,/' | tee -a "$out"
fi
echo "== memory read bandwidth (the ceiling for framing)" >&2
gcc -O2 -pthread -o "$work/memory_bandwidth" "$here/memory-bandwidth/memory_bandwidth.c"
"$work/memory_bandwidth" | tee -a "$out"
echo "== detection engine (parse alone vs parse + rules, same file, 1 core)" >&2
"$bin/engine-throughput" "$corpus" --rules "$root/Detections" --reps "$reps" | tee -a "$out"
echo "== correlation state at its cap (1M events, 1M users; then the rule alone)" >&2
"$bin/engine-throughput" --state-at-cap | tee -a "$out"
"$bin/engine-throughput" --state-at-cap --control | tee -a "$out"
echo "== kaudit stats end to end (streaming read, peak RSS)" >&2
/usr/bin/time -o "$work/stats.time" -f '{"bench":"kaudit_stats","seconds":%e,"max_rss_kib":%M}' \
    "$root/.build/release/kaudit" stats "$corpus" --format json > "$work/stats.json"
tail -n 1 "$work/stats.time" | tee -a "$out"
echo "== kaudit scan end to end (bundled rules, alerts discarded, peak RSS)" >&2
/usr/bin/time -o "$work/scan-detect.time" -f '{"bench":"kaudit_scan_detect","seconds":%e,"max_rss_kib":%M}' \
    "$root/.build/release/kaudit" scan "$corpus" --summary json > /dev/null 2> "$work/scan-detect.json"
tail -n 1 "$work/scan-detect.time" | tee -a "$out"

python3 - "$out" "$corpus" "$work/scan-detect.json" <<'PY'
import json, os, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
def pick(bench, cores):
    return [r for r in rows if r.get("bench") == bench and r.get("cores") == cores]
def mbps(bench, cores):
    rs = pick(bench, cores)
    return statistics.median(r["MBps"] for r in rs) if rs else None
f1, f2 = mbps("framing", 1), mbps("framing", 2)
p1, p2 = mbps("parse_extract_all", 1), mbps("parse_extract_all", 2)
s1, s2 = mbps("simdjson", 1), mbps("simdjson", 2)
alloc = pick("parse_extract_all", 1)[0].get("allocations_per_event")
stats = [r for r in rows if r.get("bench") == "kaudit_stats"]
scan = [r for r in rows if r.get("bench") == "kaudit_scan_detect"]
engine = [r for r in rows if r.get("bench") == "engine"]
caps = [r for r in rows if r.get("bench") == "engine_state_at_cap"]
size = os.path.getsize(sys.argv[2])
print("\nsummary (MB = 10^6 bytes; medians)")
print(f"  framing            1 core {f1} MB/s   2 cores {f2} MB/s   scaling {f2/f1:.2f}x")
print(f"  parse+extract all  1 core {p1} MB/s   2 cores {p2} MB/s   scaling {p2/p1:.2f}x")
if s1:
    print(f"  simdjson baseline  1 core {s1:.0f} MB/s   2 cores {s2:.0f} MB/s")
    print(f"  kaudit / simdjson  1 core {p1/s1:.2f}x   2 cores {p2/s2:.2f}x")
m1, m2 = mbps("memory_read", 1), mbps("memory_read", 2)
if m1:
    print(f"  memory read        1 core {m1} MB/s   2 cores {m2} MB/s   scaling {m2/m1:.2f}x (framing's ceiling)")
print(f"  allocations per event (parse loop): {alloc}")
if engine:
    e = engine[0]
    print(f"  engine, 1 core     parse {e['parse_GBps']} GB/s   parse+detect {e['detect_GBps']} GB/s   ratio {e['ratio']:.2f}"
          f"   ({e['rules']} rules, {e['correlations']} correlations, {e['rule_errors']} rule errors; {e['alerts']} alerts)")
    print(f"    targets: >= 0.8 GB/s {'met' if e['detect_GBps'] >= 0.8 else 'NOT met'}; >= 0.6 x parse "
          f"{'met' if e['ratio'] >= 0.6 else 'NOT met'}; >= 100 rules and >= 10 correlations "
          f"{'loaded' if e['rules'] >= 100 and e['correlations'] >= 10 else 'NOT loaded'}")
for c in caps:
    label = "rule alone (control)" if c["control"] else "correlation at cap"
    print(f"  {label}: {c['correlation_groups']} groups, {c['correlation_bytes']/2**20:.1f} MiB estimated "
          f"(limits {c['limits']['max_groups']} groups / {c['limits']['max_bytes']/2**20:.0f} MiB), "
          f"{c['correlation_counters']['groups_evicted']} evicted; RSS {c['rss_kib_before']/1024:.1f} -> "
          f"{c['rss_kib_fed']/1024:.1f} MiB, peak {c['hwm_kib_after']/1024:.1f} MiB")
for name, r in (("kaudit stats", stats), ("kaudit scan (rules)", scan)):
    if r:
        print(f"  {name}: {r[0]['seconds']} s ({size/max(r[0]['seconds'], 0.01)/1e9:.2f} GB/s), peak RSS {r[0]['max_rss_kib']/1024:.1f} MiB")
try:
    d = json.load(open(sys.argv[3])).get("detection", {})
    print(f"    scan: {d.get('rules')} rules, {d.get('correlations')} correlations, {d.get('alerts')} alerts")
except (OSError, ValueError):
    pass
PY
