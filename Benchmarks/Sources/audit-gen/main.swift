// audit-gen: writes a deterministic synthetic audit log (see AuditSynth).
//
//   audit-gen [--no-attacks] OUTPUT BYTES [SEED]     e.g. audit-gen /tmp/audit.ndjson 1073741824 42
//
// --no-attacks writes benign traffic only (the rule pack's false-positive baseline).
import AuditSynth
import Glibc

let injectAttacks = !CommandLine.arguments.contains("--no-attacks")
let args = CommandLine.arguments.filter { $0 != "--no-attacks" }
guard args.count >= 3, let bytes = Int(args[2]) else {
    fputs("usage: audit-gen [--no-attacks] OUTPUT BYTES [SEED]\n", stderr)
    exit(2)
}
let seed = args.count > 3 ? UInt64(args[3]) ?? 42 : 42
let fd = open(args[1], O_WRONLY | O_CREAT | O_TRUNC, 0o644)
guard fd >= 0 else {
    fputs("audit-gen: cannot create \(args[1])\n", stderr)
    exit(2)
}
var log = SyntheticAuditLog(.init(seed: seed, injectAttacks: injectAttacks))
log.generate(bytes: bytes) { block in
    var off = 0
    while off < block.count {
        let n = write(fd, block.baseAddress! + off, block.count - off)
        if n <= 0 { fputs("audit-gen: write failed\n", stderr); exit(2) }
        off += n
    }
}
close(fd)
let i = log.injected
print("""
    {"bytes":\(log.bytesGenerated),"events":\(log.eventsGenerated),"seed":\(seed),\
    "injected":{"podExec":\(i.podExec),"secretsList":\(i.secretsList),\
    "clusterAdminBindings":\(i.clusterAdminBindings),"privilegedPods":\(i.privilegedPods)}}
    """)
