/// Every bound on what a report holds, in one place, each with the reason for its value.
///
/// A report must stay small whatever the traffic: resources with literals or ids in them (raw SQL,
/// `/users/123`), hostile payloads of unique keys, many apps behind one proxy. What goes beyond a
/// bound is never dropped: it is counted in an explicit "other" group, so every count stays exact.
public struct ReportLimits: Sendable, Equatable {
    /// Finding groups per (rule, application, service); further groups of that scope are counted
    /// in its "other" group. 100: a real app has a few dozen distinct queries, cache keys or
    /// tag keys per rule once resources are normalised; more means literals the normaliser missed.
    public var groupsPerScope: Int
    /// Finding groups in the whole report (user findings and internal struct tags each); further
    /// groups are counted in the rule's "other" group of app and service "other". 2,000 groups
    /// with 5 samples each is about 2.5 MB of JSON (measured: ~1.2 KB per group), under the
    /// "a few MB" the report is read at.
    public var groups: Int
    /// Applications (and services summaries) kept by name; further ones are counted as app
    /// "other". 32: more apps than that behind one proxy is a fleet, which the fleet metrics
    /// label by app and must keep bounded.
    public var apps: Int

    public init(groupsPerScope: Int = 100, groups: Int = 2_000, apps: Int = 32) {
        self.groupsPerScope = max(1, groupsPerScope)
        self.groups = max(1, groups)
        self.apps = max(1, apps)
    }

    public static let `default` = ReportLimits()

    /// The name of every overflow bucket (app, service, resource of an "other" group).
    public static let other = "other"
}
