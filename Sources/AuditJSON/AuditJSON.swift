// AuditJSON: zero-copy JSON scanning for audit events.
//
// Design decisions
// - The scanner works on borrowed bytes (a base pointer plus integer offsets) and
//   never copies or allocates while locating values. Values are byte ranges
//   (`JSONValue`); strings are unescaped only when a caller asks for them.
// - It is a *skimming* scanner, not a validator: the structure it walks (object
//   members, array elements) is checked strictly, but values it skips are only
//   checked for balanced brackets and terminated strings. "Validate what you use."
// - Skipping a nested value runs over 64-byte blocks with SSE2 bitmasks (quotes,
//   backslashes, brackets), carrying the in-string and escape state between blocks
//   as simdjson's stage 1 does, so a 10,000-deep payload costs the same as a flat one
//   and nothing recurses on input depth.
// - `}` and `]` are treated alike when skipping (a mismatched bracket inside a skipped
//   payload is not detected); duplicate keys resolve to the last occurrence, as the
//   apiserver's Go decoder does.
//
// Non-goals: building a DOM, validating UTF-8 or numbers of values nobody reads.
