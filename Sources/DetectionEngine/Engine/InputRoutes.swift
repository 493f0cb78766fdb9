/// The correlation inputs a rule's match makes, flattened when the detector is made.
///
/// A match reads plain words here and borrows each field it reads. Walking the plan's
/// nested arrays (feeds, positions, inputs, group values) copied every `ValueSource` on the
/// way, retaining and releasing its field's name, summary and path: a dozen reference-count
/// operations per correlation input, on the path every match that feeds a correlation takes.
final class InputRoutes {
    /// One correlation input: the rule's match goes to `correlation` at `position`.
    struct Route {
        let correlation: Int
        let position: Int
        /// The group-by fields, in order: `fields[groupStart ..< groupStart + groupCount]`.
        let groupStart: Int
        let groupCount: Int
        /// value_count's field (`fields[value]`), or -1: no value is read (not a value_count
        /// correlation, or its source gives none and the input is not counted).
        let value: Int
        /// A later step of a temporal_ordered correlation: most such inputs find no sequence
        /// to extend, so their evidence is made only when they are applied (`EvidenceRing`).
        let mayBeDropped: Bool
        /// An input of a correlation whose state takes inputs as records
        /// (`CorrelationState.takesRecordedInputs`): queued as plain words and bytes when it
        /// is in order and its bytes fit (`RecordedInput`).
        let recordable: Bool
    }

    /// A field an input reads (nil: the source gives nothing), held by reference so a route
    /// names it by number and a match borrows it without copying its definition.
    final class Field {
        let definition: FieldDefinition?
        init(_ definition: FieldDefinition?) { self.definition = definition }
    }

    /// Rule `r`'s routes are `routes[bounds[r] ..< bounds[r + 1]]`, in the order the plan
    /// lists its feeds and each feed's positions.
    private let routes: [Route]
    private let bounds: [Int]
    private let fields: [Field]

    /// `recordable`: whether correlation `c` takes inputs as records.
    init(_ plan: DetectionPlan, recordable: (Int) -> Bool) {
        var routes: [Route] = []
        var bounds = [0]
        var fields: [Field] = []
        for rule in plan.rules {
            for feed in rule.feeds {
                for position in feed.positions {
                    let input = plan.correlations[feed.correlation].inputs[position]
                    let groupStart = fields.count
                    for source in input.groupValues {
                        if case .field(let definition) = source { fields.append(Field(definition)) } else { fields.append(Field(nil)) }
                    }
                    var value = -1
                    if case .field(let definition)? = input.value {
                        fields.append(Field(definition))
                        value = fields.count - 1
                    }
                    let ordered = plan.correlations[feed.correlation].spec.kind == .temporalOrdered
                    routes.append(
                        Route(
                            correlation: feed.correlation, position: position, groupStart: groupStart,
                            groupCount: input.groupValues.count, value: value, mayBeDropped: ordered && position > 0,
                            recordable: recordable(feed.correlation)))
                }
            }
            bounds.append(routes.count)
        }
        self.routes = routes
        self.bounds = bounds
        self.fields = fields
    }

    /// Whether rule `r`'s matches feed any correlation.
    @inline(__always)
    func feeds(_ r: Int) -> Bool { bounds[r + 1] > bounds[r] }

    /// Calls `body` with each of rule `r`'s routes.
    @inline(__always)
    func forEachRoute(of r: Int, _ body: (Route) -> Void) {
        routes.withUnsafeBufferPointer { routes in
            for i in bounds[r]..<bounds[r + 1] { body(routes[i]) }
        }
    }

    /// Field `i`, borrowed: the closure gets it without a retain.
    @inline(__always)
    func withField<R>(_ i: Int, _ body: (FieldDefinition?) -> R) -> R {
        fields.withUnsafeBufferPointer { fields in
            Unmanaged.passUnretained(fields[i])._withUnsafeGuaranteedRef { body($0.definition) }
        }
    }
}
