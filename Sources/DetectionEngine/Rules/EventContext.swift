import AuditJSON
import AuditModel

/// The event being judged, with what rules derive from it computed at most once.
///
/// The engine keeps one context and refills it for every event (`reset`), so judging an
/// event allocates nothing. Field tests read envelope fields from the event's index; the
/// pod spec (found by walking the body) and the element a per-element rule is looking at
/// live here.
public final class EventContext {
    public private(set) var event: AuditEvent
    /// The container or volume a per-element rule is evaluating (see `ElementScope`).
    var element: JSONValue?
    var elementScope: ElementScope?
    var elementKind: ContainerView.Kind?

    private var specLooked = false
    private var spec: PodSpecView?

    public init(_ event: AuditEvent) { self.event = event }

    /// Judges `event` next.
    public func reset(_ event: AuditEvent) {
        self.event = event
        specLooked = false
        spec = nil
        element = nil
        elementScope = nil
        elementKind = nil
    }

    /// The pod spec of the request body (or of the response, when the request has none),
    /// for Pods and every workload kind; looked for once per event.
    public var podSpec: PodSpecView? {
        if !specLooked {
            specLooked = true
            spec = event.podSpec(in: .request) ?? event.podSpec(in: .response)
        }
        return spec
    }
}

/// What a per-element rule ranges over: its condition is evaluated once per element, and
/// the rule matches when it holds for one of them, so "privileged and the image not
/// allow-listed" is about the same container, never two different ones.
///
/// A rule enters a scope by naming a field of it (`container.*` or `volume.*`); see
/// `FieldCatalogue`. Event-level fields read the same for every element. An event with no
/// element of the scope is judged once with the element's fields absent.
public enum ElementScope: String, Sendable, CaseIterable {
    /// Every container, init container and ephemeral container of the pod spec.
    case container
    /// Every volume of the pod spec.
    case volume

    /// The field-name prefix that selects the scope.
    public var prefix: String { rawValue + "." }
}
