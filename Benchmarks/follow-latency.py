#!/usr/bin/env python3
"""Detection latency of `kaudit follow` (issue 5's target: p99 <= 1 s at 6 MB/s of input
with a rotation every 1 MB).

    Benchmarks/follow-latency.py [--seconds 60] [--rate 6000000] [--rotate 1000000]
                                 [--attacks-per-second 20] [--kaudit PATH] [--corpus PATH]

A writer plays the apiserver's log backend: it appends lines of the synthetic corpus to
DIR/audit.log at RATE bytes per second (a write every 10 ms) and renames the file to a
lumberjack backup (audit-<UTC time>.log) every ROTATE bytes, as the apiserver does. Among
the corpus lines it writes, ATTACKS per second, an exec into a pod (a fixture of the rule
pack, matched by a single-event rule) with a fresh audit ID, and notes when each was
written. `kaudit follow DIR/audit.log --no-suppress --format ndjson` runs beside it; every
alert it prints is matched to its evidence's audit ID, and latency is the time from the
write of that line to the alert line read from kaudit's stdout. Reports p50, p99 and max,
and attacks whose alert never came. Needs a release build (`swift build -c release
--product kaudit`) and the corpus (`Benchmarks/run.sh` or `audit-gen` makes it).
"""
import argparse, json, os, signal, statistics, subprocess, sys, tempfile, threading, time

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)
p = argparse.ArgumentParser()
p.add_argument("--seconds", type=float, default=60)
p.add_argument("--rate", type=float, default=6_000_000)
p.add_argument("--rotate", type=int, default=1_000_000)
p.add_argument("--attacks-per-second", type=float, default=20)
p.add_argument("--kaudit", default=os.path.join(root, ".build/release/kaudit"))
p.add_argument("--corpus", default="/tmp/kaudit-bench/audit-67108864.ndjson")
args = p.parse_args()

with open(args.corpus, "rb") as f:
    corpus = [l for l in f.read(32 << 20).split(b"\n")[:-1] if l]
fixture = os.path.join(root, "SampleLogs/detections/kaudit/exec_cluster_tooling.match.ndjson")
template = open(fixture, "rb").readline().rstrip(b"\n")
old_id = json.loads(template)["auditID"].encode()

work = tempfile.mkdtemp(prefix="kaudit-follow-latency.")
log = os.path.join(work, "audit.log")
open(log, "wb").close()
follow = subprocess.Popen(
    [args.kaudit, "follow", log, "--no-suppress", "--format", "ndjson"],
    stdout=subprocess.PIPE, stderr=open(os.path.join(work, "follow.err"), "wb"))
written = {}  # audit ID -> time its line was written
latencies = []
lock = threading.Lock()


def read_alerts():
    for line in follow.stdout:
        t = time.monotonic()
        try:
            alert = json.loads(line)
        except ValueError:
            continue
        for e in alert.get("evidence", []):
            with lock:
                w = written.pop(e.get("audit_id", ""), None)
                if w is not None:
                    latencies.append(t - w)


reader = threading.Thread(target=read_alerts, daemon=True)
reader.start()
time.sleep(1.0)  # follow starts at the end of the (empty) file

out = open(log, "ab")
in_file = 0
rotations = 0
total = 0
n = 0
attack_every = 1.0 / args.attacks_per_second
next_attack = time.monotonic()
start = time.monotonic()
tick = 0.01
deadline = start
while time.monotonic() - start < args.seconds:
    deadline += tick
    budget = int(args.rate * tick)
    chunk = []
    size = 0
    attacks = []
    now = time.monotonic()
    while size < budget:
        if now >= next_attack:
            next_attack += attack_every
            aid = ("%08x-feed-4bad-8000-%012x" % (n, n)).encode()
            line = template.replace(old_id, aid)
            attacks.append(aid.decode())
        else:
            line = corpus[n % len(corpus)]
        n += 1
        chunk.append(line)
        size += len(line) + 1
    data = b"\n".join(chunk) + b"\n"
    out.write(data)
    out.flush()
    t = time.monotonic()
    with lock:
        for a in attacks:
            written[a] = t
    in_file += len(data)
    total += len(data)
    if in_file >= args.rotate:
        out.close()
        stamp = time.strftime("%Y-%m-%dT%H-%M-%S", time.gmtime()) + ".%03d" % (rotations % 1000)
        os.rename(log, os.path.join(work, "audit-%s.log" % stamp))
        out = open(log, "ab")
        in_file = 0
        rotations += 1
    pause = deadline - time.monotonic()
    if pause > 0:
        time.sleep(pause)
elapsed = time.monotonic() - start
out.close()
time.sleep(3)  # the last alerts
follow.send_signal(signal.SIGTERM)
follow.wait(timeout=30)
reader.join(timeout=5)

with lock:
    missing = len(written)
lat = sorted(latencies)
if not lat:
    sys.exit("no alerts were matched; see " + os.path.join(work, "follow.err"))
p50 = lat[len(lat) // 2]
p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
result = {
    "bench": "follow_latency", "seconds": round(elapsed, 1), "bytes": total,
    "MBps": round(total / elapsed / 1e6, 2), "rotations": rotations, "alerts_matched": len(lat),
    "alerts_missing": missing, "p50_ms": round(p50 * 1e3, 1), "p99_ms": round(p99 * 1e3, 1),
    "max_ms": round(lat[-1] * 1e3, 1),
}
print(json.dumps(result))
print(f"follow latency: {total / elapsed / 1e6:.2f} MB/s written for {elapsed:.0f} s, {rotations} rotations; "
      f"{len(lat)} alerts, p50 {p50 * 1e3:.0f} ms, p99 {p99 * 1e3:.0f} ms, max {lat[-1] * 1e3:.0f} ms, "
      f"{missing} missing (target: p99 <= 1000 ms)", file=sys.stderr)
