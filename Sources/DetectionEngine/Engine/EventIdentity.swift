import AuditJSON
import AuditModel

/// What the judge works out about an event's identity as a request, outside the detector
/// class: static functions of a class take the class's metadata, fetched by a call at every
/// use (per event, in the judge).
enum EventIdentity {
    /// What makes two deliveries "the same event": both timestamps (set by the apiserver to
    /// the microsecond), verb, user, status code and the length of the URI, hashed. Two
    /// different requests agreeing on all of these under one audit ID and stage would have
    /// to be made in the same microsecond by the same user.
    ///
    /// Each value is hashed on its own (its own seed) and the hashes are folded at the end,
    /// in pairs through one multiply each: chained through one state, every hash waited for
    /// the one before (a sixth of the detector's fixed cost per event). Folded to 32 bits,
    /// the size the duplicate table keeps: two different events under one audit ID and stage
    /// pass for one with odds of 1 in 2^32.
    /// `stageTime` is the event's time as the judge worked it out (the stage timestamp, to
    /// the microsecond): used instead of hashing the timestamp's text again.
    @inline(__always)
    static func fingerprint(_ event: EnvelopeIndex, stageTime: Int64?) -> UInt32 {
        let user = fingerprintHash(event[nested: .userUsername], 0x082E_FA98_EC4E_6C89)
        let verb = fingerprintHash(event[.verb], 0xA409_3822_299F_31D0)
        let code = fingerprintHash(event[nested: .statusCode], 0x4528_21E6_38D0_1377)
        return fingerprint(event, stageTime: stageTime, identityHash: user, shapeHash: foldedMultiply(verb, code ^ 0xBE54_66CF_34E9_0C6C))
    }

    /// `fingerprint` for an event whose verdict-memo keys hold its user name (the identity
    /// key) and its verb and status code (the shape key): the keys' hashes, made for the memo
    /// anyway, stand for those three values (and fold in the rest of the identity and shape),
    /// so the values are not hashed again. `fingerprint(_:stageTime:)` passes the values'
    /// own hashes instead, so the two differ for the same event; but one detector
    /// fingerprints an event the same way each time (whether its keys are made depends on its
    /// bytes and the rules alone), and the keys' seed is the detector's (`JudgeRules.memoSeed`).
    @inline(__always)
    static func fingerprint(_ event: EnvelopeIndex, stageTime: Int64?, identityHash: UInt64, shapeHash: UInt64) -> UInt32 {
        let stage =
            stageTime.map { UInt64(bitPattern: $0) ^ 0x243F_6A88_85A3_08D3 }
            ?? fingerprintHash(event[.stageTimestamp], 0x243F_6A88_85A3_08D3)
        let received = fingerprintHash(event[.requestReceivedTimestamp], 0x1319_8A2E_0370_7344)
        let uriLength = UInt64(event[.requestURI]?.rawBytes.count ?? 0)
        // The hashes are mixed already (each ends in a full multiply); the stage time and the
        // URI length are mixed by the multiply they go into.
        let h =
            foldedMultiply(stage, received) ^ foldedMultiply(identityHash ^ 0x4528_21E6_38D0_1377, shapeHash ^ uriLength)
        return UInt32(truncatingIfNeeded: h ^ h >> 32)
    }

    /// A hash of one value's raw bytes for `fingerprint`: values of up to 32 bytes (the
    /// timestamps, verbs, status codes, most user names) in one or two multiplies of words
    /// that together cover every byte; longer ones through `fastHash`.
    @inline(__always)
    static func fingerprintHash(_ value: JSONValue?, _ seed: UInt64) -> UInt64 {
        guard let value else { return seed }
        let bytes = value.rawBytes
        let n = bytes.count
        guard let p = bytes.baseAddress, n > 0, n <= 32 else { return fastHash(bytes, seed: seed) }
        let length = UInt64(n) &* 0x9E37_79B9_7F4A_7C15
        guard n > 16 else {
            let (a, b) = coveringWords(p, n)
            return foldedMultiply(a ^ seed, b ^ length)
        }
        // First and last sixteen bytes (overlapping): every byte.
        let (a, b) = coveringWords(p, 16)
        let (c, d) = coveringWords(p + (n - 16), 16)
        return foldedMultiply(a ^ seed, b ^ length) ^ foldedMultiply(c ^ 0xA076_1D64_78BD_642F, d ^ seed)
    }

    /// Watches and subresource requests (exec, attach, portforward, proxy, log) can be
    /// long-running: only they get a ResponseStarted stage.
    static func mayBeLongRunning(_ event: EnvelopeIndex) -> Bool {
        if event[nested: .refSubresource] != nil { return true }
        guard let verb = event[.verb], let raw = verb.rawStringContents, let p = raw.baseAddress else { return false }
        // Asked of every completed request: both verbs have five letters, and a spelling with
        // escapes is longer, so the verb's text is scanned for a backslash (once) only then.
        if raw.count == 5 { return bytesEqual(p, 5, "watch") || bytesEqual(p, 5, "proxy") }
        guard raw.count > 5, verb.jsonString?.hasEscapes == true else { return false }
        return verb.stringEquals("watch") || verb.stringEquals("proxy")
    }
}
