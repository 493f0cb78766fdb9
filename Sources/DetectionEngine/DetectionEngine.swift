// DetectionEngine: Sigma rules compiled into evaluation plans over AuditEvent views.
//
// Design decisions
// - No Foundation, no YAML: rules arrive already parsed (the RuleLoader target, later,
//   turns Sigma YAML into these types); the engine compiles and evaluates them.
// - Matching works on the event's raw bytes: string comparisons are case-insensitive ASCII
//   by default (Sigma's rule), wildcards `*` and `?` are matched without building Strings,
//   and only regular expressions decode a value into a String.
//
// Built so far:
// - Condition/  the condition language: parse, resolve against selection names, evaluate
//               with left-to-right short-circuiting (`SigmaCondition`, `ResolvedCondition`)
// - Matching/   value matchers: wildcards, every value modifier but `expand`/`fieldref`,
//               numbers, booleans, null, CIDR, base64, regex (`ValueMatcher`)
// - Fields/     the field catalogue and how each field's values are read from an event,
//               including derived exec and pod-spec fields (`FieldCatalogue`, `FieldSource`)
// - Rules/      single-event rules: field tests, selections, `CompiledRule.matches`
// Still to come with the detection-engine issue: compiling loaded rules into an indexed
// plan (by verb and resource), per-element logic, stage awareness and deduplication,
// correlations, filters, alerts, and the `scan` / `rules` commands.
