// AuditModel: lazy views over audit.k8s.io Event bytes.
//
// Design decisions
// - `AuditEvent` indexes the top-level members of one event in a single pass (offsets
//   only, no copies) and decodes nothing until a field is asked for. Nested objects
//   (`user`, `objectRef`, `responseStatus`) are indexed the same way when first used.
// - v1 and v1beta1 read the same: v1beta1's `metadata.creationTimestamp` and `timestamp`
//   stand in for `stageTimestamp` and `requestReceivedTimestamp` when those are absent.
// - Derived views (`ExecRequestView`, `PodSpecView`) read what detection needs from the
//   request URI and from pod specs wherever they sit in a workload.
// - Views are only valid while the bytes they point into are; make Strings (or an
//   owned snapshot) for anything that must outlive the read buffer.
