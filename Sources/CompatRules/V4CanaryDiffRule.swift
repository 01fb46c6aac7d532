import MessagePack

/// V4-CANARY-DIFF — what v4 actually changed, measured on the same app's traffic from 3.x and 4.x.
///
/// The other rules predict what v4 will change from 3.x traffic alone. Teams that upgrade
/// carefully run a canary: some instances on ddtrace 4.x, the rest on 3.x, all sending through
/// the same agent and so through trace-compat. The analyzer keeps a span profile per application
/// and tracer major version (`Datadog-Meta-Tracer-Version`); once an application has been seen on
/// both, the report compares them (`CanaryDiff` in CompatReport): operations gone or clearly rarer
/// per trace under v4, operations new under v4, and for operations on both sides the meta and
/// metrics keys most v3 spans carry and no v4 span does (and the reverse). Each row names the rule
/// that predicted it when there is one (V4-DJANGO-MINIMAL for Django's database, cache and
/// template spans), so prediction and measurement stand side by side.
///
/// This file holds the rule's decisions as pure functions (thresholds, confidence, which keys
/// count); the profiles and the comparison live in CompatReport, which owns the report's data.
public enum V4CanaryDiffRule: CompatRule {
    public static let id: RuleID = "V4-CANARY-DIFF"
    public static let severity = Severity.changes
    public static let confidence = Confidence.high
    public static let title = "Measured on a canary: what the same app sends differently under ddtrace 4.x than under 3.x"
    public static let fix = "Check each difference against your dashboards and monitors before moving the rest of the fleet to v4; where a rule predicted it, its fix applies."
    public static let evidence = "the same application's spans (per operation and tag key) under Datadog-Meta-Tracer-Version 3.x and 4.x"
    public static let reads: Set<WireSource> = [.spans, .requestHeaders]
    public static let summaryDetail = SummaryDetail.kinds(Change.allCases.map(\.rawValue))

    /// The tracer major versions compared: the canary's and the fleet's.
    public static let before = "3"
    public static let after = "4"

    /// What one row of the comparison says.
    public enum Change: String, Sendable, Codable, CaseIterable {
        /// An operation v3 sends and v4 does not.
        case gone
        /// An operation v4 sends at a clearly lower rate per trace (`lowerRateRatio`).
        case lower
        /// An operation only v4 sends.
        case new
        /// A meta key on most v3 spans of an operation (`mostShare`) and on no v4 span of it.
        case metaKeyGone = "meta_key_gone"
        case metaKeyNew = "meta_key_new"
        /// The same for metrics keys.
        case metricKeyGone = "metric_key_gone"
        case metricKeyNew = "metric_key_new"
    }

    /// A v4 rate at or below this share of the v3 rate (per trace) is "clearly lower". One half:
    /// sampling and traffic mix move rates by a few percent, an instrumentation turned off or
    /// folded into another span halves them at least.
    public static let lowerRateRatio = 0.5
    /// "Most spans": the share of an operation's spans on one side that must carry a key for its
    /// absence on every span of the other side to count. One half: a key on a minority of spans
    /// is a per-request value (an error, a user id), not the integration's.
    public static let mostShare = 0.5
    /// Traces on the smaller side for `high` confidence; at least `mediumTraces` for `medium`,
    /// `low` below: with fewer traces a rare operation may be missing by chance.
    public static let highTraces = 20
    public static let mediumTraces = 5

    /// The confidence of a difference measured on `beforeTraces` v3 and `afterTraces` v4 traces.
    public static func confidence(beforeTraces: Int, afterTraces: Int) -> Confidence {
        let n = min(beforeTraces, afterTraces)
        if n >= highTraces { return .high }
        if n >= mediumTraces { return .medium }
        return .low
    }

    /// True when `after` (spans per trace under v4) is clearly lower than `before` (under v3), but not zero.
    public static func isClearlyLower(before: Double, after: Double) -> Bool {
        after > 0 && before > 0 && after <= before * lowerRateRatio
    }

    /// True when a key on `share` of one side's spans, and on none of the other's, is a difference.
    public static func isMost(_ share: Double) -> Bool { share >= mostShare }

    /// The tracer major version of a `Datadog-Meta-Tracer-Version` value ("3.19.9" → "3",
    /// "4.0.0rc1" → "4"); nil when it does not start with a number.
    public static func major(ofTracerVersion version: String) -> String? {
        let digits = version.utf8.prefix { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
        guard !digits.isEmpty, digits.count <= 3 else { return nil }
        return String(decoding: digits, as: UTF8.self)
    }

    /// Keys whose presence the library decides per span, process or request, never the
    /// integration: ids, times, sampling decisions, ddtrace's own `_dd.*` internals and
    /// `_sampling_priority_v1`, `runtime-id`, `process_id`. They are on the root span or the
    /// first span of a chunk in one version and elsewhere in another, so they never count as a
    /// tag difference.
    public static func countsAsTagDifference(_ key: String) -> Bool {
        if key.hasPrefix("_") { return false }  // _dd.*, _sampling_priority_v1, _top_level
        switch key {
        case "runtime-id", "process_id", "language", "other": return false
        default: return true
        }
    }

    /// The rule that predicted a gone or rarer operation, with its kind: V4-DJANGO-MINIMAL for
    /// Django's database, cache and template spans.
    public static func prediction(name: String, type: String, component: String) -> (rule: RuleID, kind: String)? {
        var n = name, t = type, c = component
        let kind = n.withUTF8 { nb in t.withUTF8 { tb in c.withUTF8 { cb in
            V4DjangoMinimalRule.kind(name: ByteView(UnsafeRawBufferPointer(nb)), type: ByteView(UnsafeRawBufferPointer(tb)),
                                     component: ByteView(UnsafeRawBufferPointer(cb)))
        } } }
        return kind.map { (.djangoMinimal, $0.rawValue) }
    }
}

extension RuleID {
    /// V4-CANARY-DIFF (`V4CanaryDiffRule`).
    public static var canaryDiff: RuleID { V4CanaryDiffRule.id }
}
