// DetectionEngine: Sigma rules compiled into evaluation plans over AuditEvent views.
//
// Design decisions
// - No Foundation, no YAML: rules arrive already parsed (the RuleLoader target, later,
//   turns Sigma YAML into these types); the engine compiles and evaluates them.
// - Matching works on the event's raw bytes: string comparisons are case-insensitive ASCII
//   by default (Sigma's rule), wildcards `*` and `?` are matched without building Strings,
//   and only regular expressions decode a value into a String.
//
// Built so far: the condition language (`SigmaCondition`) and value matchers
// (`ValueMatcher`). Rule compilation, the (verb, resource) index, correlations and alerts
// come with the rest of the detection-engine issue.
