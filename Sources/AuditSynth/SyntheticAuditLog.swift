/// Deterministic generator of realistic Kubernetes `audit.k8s.io/v1` audit logs as NDJSON.
///
/// The same configuration always yields byte-identical output, so benchmarks over ≥ 1 GB files
/// are reproducible and tests can use small baselines. Rare attack events are injected at fixed
/// positions and counted in `injected` as ground truth for detections.
public struct SyntheticAuditLog: Sendable {
    public struct Configuration: Sendable {
        public var seed: UInt64
        /// Worker nodes; each runs a kubelet renewing its Lease every 10 s of event time.
        public var nodes: Int
        /// Event-time start, microseconds since the Unix epoch (default 2026-01-05T00:00:00Z).
        public var startMicros: Int64
        /// Cluster request rate used to advance event time (lease renewals come on top).
        public var eventsPerSecond: Int
        /// Inject a few rare attack events at deterministic positions.
        public var injectAttacks: Bool
        /// One attack every `attackInterval` events (first at half the interval), cycling through
        /// exec, cluster-wide secrets list, cluster-admin binding, privileged pod, hostPath `/` pod.
        /// Default 25 000 (4 per 100k events); tests lower it to see every kind in a small log.
        public var attackInterval: Int

        public init(
            seed: UInt64 = 42, nodes: Int = 20,
            startMicros: Int64 = SyntheticAuditLog.defaultStartMicros,
            eventsPerSecond: Int = 1000, injectAttacks: Bool = true, attackInterval: Int = 25_000
        ) {
            self.seed = seed
            self.nodes = nodes
            self.startMicros = startMicros
            self.eventsPerSecond = eventsPerSecond
            self.injectAttacks = injectAttacks
            self.attackInterval = attackInterval
        }
    }

    /// 2026-01-05T00:00:00Z in microseconds since the epoch.
    public static let defaultStartMicros: Int64 = CivilDate.micros(year: 2026, month: 1, day: 5)

    /// Size of the blocks `generate(bytes:into:)` hands out (each ends at a newline).
    public static let blockSize = 1 << 20

    /// The configuration this generator was created with.
    public let configuration: Configuration

    var rng: SeededRandom
    var cluster: Cluster
    /// Event time in nanoseconds (fractional microseconds let very high rates still advance time).
    var clockNanos: Int64
    var gapNanos: Int64
    var nextLeaseDue: Int64
    var ts = TimestampFormatter()
    var w = JSONWriter()
    var scenarioTable: [Scenario]
    var roles: Roles
    var attackers: Attackers
    var impersonations: [[UInt8]]
    var eventCount = 0
    var byteCount = 0
    var injectedCounts = InjectedCounts()

    public init(_ configuration: Configuration = .init()) {
        self.configuration = configuration
        var setup = SeededRandom(seed: configuration.seed ^ 0x6B61_7564_6974_2121)
        var cluster = Cluster(nodeCount: configuration.nodes, startMicros: configuration.startMicros, rng: &setup)
        attackers = Attackers(cluster: &cluster)
        roles = Roles(cluster)
        self.cluster = cluster
        rng = SeededRandom(seed: configuration.seed)
        clockNanos = configuration.startMicros * 1000
        gapNanos = max(1, 1_000_000_000 / Int64(max(1, configuration.eventsPerSecond)))
        nextLeaseDue = cluster.nodes.map(\.nextLease).min() ?? .max
        scenarioTable = Scenario.table()
        impersonations = Self.impersonationFragments()
    }

    /// Appends the next event as one compact JSON line ending in "\n".
    public mutating func appendEvent(to buffer: inout [UInt8]) {
        swap(&w.bytes, &buffer)
        let start = w.count
        nextEvent()
        byteCount += w.count - start
        eventCount += 1
        swap(&w.bytes, &buffer)
    }

    /// Generates until at least `bytes` bytes were produced, handing out ~1 MiB blocks (each ends at a newline).
    public mutating func generate(bytes: Int, into sink: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        var produced = 0
        var block: [UInt8] = []
        block.reserveCapacity(Self.blockSize + 64 * 1024)
        while produced < bytes {
            block.removeAll(keepingCapacity: true)
            while block.count < Self.blockSize && produced + block.count < bytes {
                appendEvent(to: &block)
            }
            produced += block.count
            try block.withUnsafeBytes { try sink($0) }
        }
    }

    /// Convenience for tests and small fixtures: the next `count` events as one NDJSON byte array.
    public mutating func makeEvents(_ count: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(count * 1600)
        for _ in 0..<count { appendEvent(to: &out) }
        return out
    }

    public var eventsGenerated: Int { eventCount }
    public var bytesGenerated: Int { byteCount }
    /// Ground truth of injected rare events (counts by kind), so benchmarks and tests can check detections.
    public var injected: InjectedCounts { injectedCounts }

    /// Node names of the simulated cluster (kubelet lease holders), for tests checking renewals.
    public var nodeNames: [String] { cluster.nodes.map(\.nameString) }

    // MARK: Event loop

    var nowMicros: Int64 { clockNanos / 1000 }

    mutating func nextEvent() {
        let gap = Int64(rng.below(Int(2 * gapNanos) + 1))
        if nextLeaseDue * 1000 <= clockNanos + gap {
            nodeLeaseRenewal()
            return
        }
        clockNanos += gap
        let interval = configuration.attackInterval
        if configuration.injectAttacks && interval > 0 && eventCount % interval == interval / 2 {
            injectAttack(number: eventCount / interval)
            return
        }
        runScenario(scenarioTable[rng.below(scenarioTable.count)])
    }

    /// Kubelet lease renewal: exactly every 10 s (+ a few ms of drift, as the renew loop restarts
    /// after each request) per node, independent of the random traffic.
    mutating func nodeLeaseRenewal() {
        var node = 0
        for i in cluster.nodes.indices where cluster.nodes[i].nextLease < cluster.nodes[node].nextLease { node = i }
        let due = cluster.nodes[node].nextLease
        let latency = 1_500 + rng.below(6_000)
        clockNanos = max(clockNanos, (due + Int64(latency)) * 1000)
        cluster.nodes[node].nextLease = due + 10_000_000 + Int64(rng.below(3_000))
        nextLeaseDue = cluster.nodes.map(\.nextLease).min() ?? .max
        cluster.resourceVersion += 1
        var c = Call(.update, .leases, actor: cluster.nodes[node].actor)
        c.level = .request
        c.namespace = cluster.namespaces[3]  // kube-node-lease
        c.name = cluster.nodes[node].name
        c.query = .timeout("10s")
        c.objectUID = cluster.nodes[node].leaseUID
        c.objectRV = cluster.resourceVersion - 1 - rng.below(40)
        c.request = .nodeLease(node)
        c.latencyMicros = Int(nowMicros - due)
        emit(c)
    }

    // MARK: Serialization

    mutating func emit(_ c: Call) {
        let now = nowMicros
        let received = c.stage == .requestReceived ? now : now - Int64(c.latencyMicros)
        w.raw("{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"")
        switch c.level {
        case .metadata: w.raw("Metadata")
        case .request: w.raw("Request")
        case .requestResponse: w.raw("RequestResponse")
        }
        w.raw("\",\"auditID\":\"")
        w.uuid(rng.next(), rng.next())
        w.raw("\",\"stage\":\"")
        switch c.stage {
        case .requestReceived: w.raw("RequestReceived")
        case .responseStarted: w.raw("ResponseStarted")
        case .responseComplete: w.raw("ResponseComplete")
        }
        w.raw("\",\"requestURI\":\"")
        writeURI(c)
        w.raw("\",\"verb\":\"")
        w.raw(c.verb.name)
        w.raw("\",")
        let actor = cluster.actors[c.actor]
        w.raw(actor.user)
        if c.impersonate >= 0 { w.raw(impersonations[c.impersonate]) }
        w.raw(actor.client)
        if c.resource != nil { writeObjectRef(c) }
        let complete = c.stage != .requestReceived
        if complete { writeResponseStatus(c) }
        if complete && c.level != .metadata && c.stage == .responseComplete {
            if case .none = c.request {} else {
                w.raw(",\"requestObject\":")
                writeBody(c.request)
            }
            if c.level == .requestResponse && c.failure == .none {
                if case .none = c.response {} else {
                    w.raw(",\"responseObject\":")
                    writeBody(c.response)
                }
            }
        }
        w.raw(",\"requestReceivedTimestamp\":\"")
        ts.write(received, into: &w)
        w.raw("\",\"stageTimestamp\":\"")
        ts.write(now, into: &w)
        w.byte(0x22)
        if complete {
            if c.failure == .forbidden {
                w.raw(",\"annotations\":{\"authorization.k8s.io/decision\":\"forbid\",\"authorization.k8s.io/reason\":\"\"")
            } else {
                w.raw(",\"annotations\":{\"authorization.k8s.io/decision\":\"allow\",\"authorization.k8s.io/reason\":\"")
                w.raw(c.reason ?? actor.reason)
                w.byte(0x22)
            }
            w.raw(c.extraAnnotations)
            w.byte(0x7D)
        }
        w.raw("}\n")
    }

    @inline(__always)
    mutating func amp() { w.raw("\\u0026") }

    mutating func writeURI(_ c: Call) {
        guard let r = c.resource else {
            w.raw(c.path)
            return
        }
        let info = r.info
        w.raw(info.pathPrefix)
        if r == .namespaces {
            w.raw("/namespaces")
            if !c.name.isEmpty { w.byte(0x2F); w.raw(c.name) }
        } else {
            if !c.namespace.isEmpty {
                w.raw("/namespaces/")
                w.raw(c.namespace)
            }
            w.byte(0x2F)
            w.raw(info.nameBytes)
            // Creates POST to the collection (the name is only in the body and objectRef),
            // except for subresources such as pods/binding or serviceaccounts/token.
            if !c.name.isEmpty && (c.verb != .create || c.subresource != nil) { w.byte(0x2F); w.raw(c.name) }
        }
        if let sub = c.subresource { w.byte(0x2F); w.raw(sub) }
        switch c.query {
        case .none: break
        case .timeout(let t): w.raw("?timeout="); w.raw(t)
        case .cachedGet: w.raw("?resourceVersion=0"); amp(); w.raw("timeout=10s")
        case .list: w.raw("?limit=500"); amp(); w.raw("resourceVersion=0")
        case .listSelector(let app):
            w.raw("?labelSelector=app.kubernetes.io%2Fname%3D"); w.raw(app); amp(); w.raw("limit=500")
        case .watch:
            w.raw("?allowWatchBookmarks=true"); amp()
            writeWatchTail()
        case .watchField(let key, let value):
            w.raw("?allowWatchBookmarks=true"); amp()
            w.raw("fieldSelector="); w.raw(key); w.raw("%3D"); w.raw(value); amp()
            writeWatchTail()
        case .fieldManager(let m): w.raw("?fieldManager="); w.raw(m)
        case .kubectlApply: w.raw("?fieldManager=kubectl-client-side-apply"); amp(); w.raw("fieldValidation=Strict")
        case .raw(let q): w.raw(q)
        }
    }

    /// client-go reflectors pick `timeoutSeconds` uniformly in [300, 600) and send it twice.
    mutating func writeWatchTail() {
        let seconds = 300 + rng.below(300)
        w.raw("resourceVersion=")
        w.int(cluster.resourceVersion - rng.below(5_000))
        amp()
        w.raw("timeout=")
        w.int(seconds / 60)
        w.byte(0x6D)
        w.int(seconds % 60)
        w.byte(0x73)
        amp()
        w.raw("timeoutSeconds=")
        w.int(seconds)
        amp()
        w.raw("watch=true")
    }

    mutating func writeObjectRef(_ c: Call) {
        let info = c.resource!.info
        w.raw(",\"objectRef\":")
        w.raw(info.refOpen)
        if !c.namespace.isEmpty {
            w.raw(",\"namespace\":\"")
            w.raw(c.namespace)
            w.byte(0x22)
        }
        if !c.name.isEmpty {
            w.raw(",\"name\":\"")
            w.raw(c.name)
            w.byte(0x22)
        }
        if !c.objectUID.isEmpty {
            w.raw(",\"uid\":\"")
            w.raw(c.objectUID)
            w.byte(0x22)
        }
        w.raw(info.refGroupVersion)
        if c.objectRV > 0 {
            w.raw(",\"resourceVersion\":\"")
            w.int(c.objectRV)
            w.byte(0x22)
        }
        if let sub = c.subresource {
            w.raw(",\"subresource\":\"")
            w.raw(sub)
            w.byte(0x22)
        }
        w.byte(0x7D)
    }

    /// `metav1.Status` field order: metadata, status, message, reason, details, code.
    mutating func writeResponseStatus(_ c: Call) {
        w.raw(",\"responseStatus\":{\"metadata\":{}")
        guard c.failure != .none, let r = c.resource else {
            w.raw(",\"code\":")
            w.int(c.code)
            w.byte(0x7D)
            return
        }
        let info = r.info
        w.raw(",\"status\":\"Failure\",\"message\":\"")
        switch c.failure {
        case .forbidden:
            w.raw(info.nameBytes)
            if !c.name.isEmpty { w.raw(" \\\""); w.raw(c.name); w.raw("\\\"") }
            w.raw(" is forbidden: User \\\"")
            w.raw(cluster.actors[c.actor].username)
            w.raw("\\\" cannot ")
            w.raw(c.verb.name)
            w.raw(" resource \\\"")
            w.raw(info.nameBytes)
            if let sub = c.subresource { w.byte(0x2F); w.raw(sub) }
            w.raw("\\\" in API group \\\"")
            w.raw(Array(info.group.utf8))
            if c.namespace.isEmpty {
                w.raw("\\\" at the cluster scope")
            } else {
                w.raw("\\\" in the namespace \\\"")
                w.raw(c.namespace)
                w.raw("\\\"")
            }
            w.raw("\",\"reason\":\"Forbidden\"")
        case .notFound:
            w.raw(info.qualified)
            w.raw(" \\\"")
            w.raw(c.name)
            w.raw("\\\" not found\",\"reason\":\"NotFound\"")
        case .conflict:
            w.raw("Operation cannot be fulfilled on ")
            w.raw(info.qualified)
            w.raw(" \\\"")
            w.raw(c.name)
            w.raw("\\\": the object has been modified; please apply your changes to the latest version and try again\",\"reason\":\"Conflict\"")
        case .alreadyExists:
            w.raw(info.qualified)
            w.raw(" \\\"")
            w.raw(c.name)
            w.raw("\\\" already exists\",\"reason\":\"AlreadyExists\"")
        case .none:
            break
        }
        w.raw(",\"details\":{")
        if !c.name.isEmpty {
            w.raw("\"name\":\"")
            w.raw(c.name)
            w.raw("\",")
        }
        if !info.detailsGroup.isEmpty {
            w.raw(Array(info.detailsGroup.dropFirst()))
            w.byte(0x2C)
        }
        w.raw("\"kind\":\"")
        w.raw(info.nameBytes)
        w.raw("\"},\"code\":")
        w.int(c.code)
        w.byte(0x7D)
    }

    static func impersonationFragments() -> [[UInt8]] {
        [
            ",\"impersonatedUser\":{\"username\":\"system:serviceaccount:payments:payments-api\",\"groups\":[\"system:serviceaccounts\",\"system:serviceaccounts:payments\",\"system:authenticated\"]}",
            ",\"impersonatedUser\":{\"username\":\"readonly@example.com\",\"groups\":[\"oidc:readonly\",\"system:authenticated\"]}",
            ",\"impersonatedUser\":{\"username\":\"system:serviceaccount:argocd:argocd-server\",\"groups\":[\"system:serviceaccounts\",\"system:serviceaccounts:argocd\",\"system:authenticated\"]}",
        ].map { Array($0.utf8) }
    }
}
