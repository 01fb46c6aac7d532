/// What one application sent under one tracer major version (V4-CANARY-DIFF): how many traces,
/// and per operation how many spans and which meta and metrics keys on how many of them. Never
/// a value: keys and counts only.
///
/// Merges exactly (counts add) within `CanaryLimits`: operations and keys beyond a bound are
/// counted in an "other" operation or key, so a merged profile is the profile of both inputs.
public struct CanaryProfile: Codable, Sendable, Equatable {
    /// Trace chunks that had at least one span of the application.
    public var traces: Int = 0
    public var spans: Int = 0
    /// Sorted by (service, name, type, component) once finalized.
    public var operations: [CanaryOperation] = []

    public init(traces: Int = 0, spans: Int = 0, operations: [CanaryOperation] = []) {
        self.traces = traces; self.spans = spans; self.operations = operations
    }

    /// Adds `other` exactly, within `CanaryLimits`.
    public mutating func absorb(_ other: CanaryProfile) {
        traces += other.traces
        spans += other.spans
        var index: [CanaryOperation.ID: Int] = [:]
        for (i, op) in operations.enumerated() { index[op.id] = i }
        for op in other.operations {
            var id = op.id
            if index[id] == nil && operations.count >= CanaryLimits.operations { id = CanaryOperation.otherID }
            if let i = index[id] {
                operations[i].absorb(op)
            } else {
                var o = CanaryOperation(service: id.service, name: id.name, type: id.type, component: id.component)
                o.absorb(op)
                index[id] = operations.count
                operations.append(o)
            }
        }
    }

    /// The operations in a stable order.
    func sorted() -> CanaryProfile {
        var p = self
        p.operations.sort { ($0.service, $0.name, $0.type, $0.component) < ($1.service, $1.name, $1.type, $1.component) }
        return p
    }
}

/// One operation of a `CanaryProfile`: spans with this service, name, type and `meta.component`.
public struct CanaryOperation: Codable, Sendable, Equatable {
    public var service: String
    public var name: String
    public var type: String
    public var component: String
    public var spans: Int = 0
    /// Meta keys → spans that carried them.
    public var meta: [String: Int] = [:]
    /// Metrics keys → spans that carried them.
    public var metrics: [String: Int] = [:]

    public init(service: String, name: String, type: String, component: String, spans: Int = 0,
                meta: [String: Int] = [:], metrics: [String: Int] = [:]) {
        self.service = service; self.name = name; self.type = type; self.component = component
        self.spans = spans; self.meta = meta; self.metrics = metrics
    }

    public struct ID: Hashable, Sendable { public var service, name, type, component: String }
    public var id: ID { ID(service: service, name: name, type: type, component: component) }
    static let otherID = ID(service: ReportLimits.other, name: ReportLimits.other, type: "", component: "")

    /// Adds `other`'s counts, keys beyond `CanaryLimits.keys` into key "other".
    public mutating func absorb(_ other: CanaryOperation) {
        spans += other.spans
        Self.add(&meta, other.meta)
        Self.add(&metrics, other.metrics)
    }

    /// `into[key] += n` for each key, in key "other" once `CanaryLimits.keys` keys are there.
    public static func add(_ into: inout [String: Int], _ more: [String: Int]) {
        for (k, n) in more {
            let key = into[k] != nil || into.count < CanaryLimits.keys ? k : ReportLimits.other
            into[key, default: 0] += n
        }
    }
}

/// One application's canary section: its profile per tracer major version and, derived when it
/// was seen on both 3.x and 4.x, the comparison.
public struct CanaryApp: Codable, Sendable, Equatable {
    /// Tracer major version ("3", "4") → profile.
    public var versions: [String: CanaryProfile] = [:]
    /// Derived by `Report.finalized()`: the rows of V4-CANARY-DIFF (nil unless both 3 and 4 were seen).
    public var diff: [CanaryDiffRow]?
    /// Derived: rows beyond `CanaryLimits.diffRows`, not listed.
    public var diffRowsNotShown: Int?

    public init(versions: [String: CanaryProfile] = [:]) { self.versions = versions }

    enum CodingKeys: String, CodingKey { case versions, diff, diffRowsNotShown = "diff_rows_not_shown" }

    /// Adds `other` exactly (the derived comparison is recomputed by `Report.finalized()`).
    public mutating func absorb(_ other: CanaryApp) {
        for (major, p) in other.versions {
            let v = versions[major] != nil || versions.count < CanaryLimits.versions ? major : ReportLimits.other
            versions[v, default: CanaryProfile()].absorb(p)
        }
    }
}

extension Report {
    /// Adds canary profiles exactly, applications beyond `limits.apps` into app "other".
    static func absorb(canary into: inout [String: CanaryApp]?, _ more: [String: CanaryApp]?, limits: ReportLimits = .default) {
        guard let more, !more.isEmpty else { return }
        var c = into ?? [:]
        for (app, a) in more {
            let name = c[app] != nil || c.count < limits.apps ? app : ReportLimits.other
            c[name, default: CanaryApp()].absorb(a)
        }
        into = c
    }
}
