#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import MessagePack
import TracePayload

/// V4-DJANGO-MINIMAL — spans that v4's minimal Django tracing stops producing.
///
/// Guide: "v4 sets `DD_DJANGO_TRACING_MINIMAL=true` by default, which turns off Django's database,
/// cache and template instrumentation … Report per kind, service and resource, with counts and the
/// share of the app's spans, and whether a twin driver span was seen (data kept) or not (data lost
/// unless the user opts back in). The fix: `DD_DJANGO_TRACING_MINIMAL=false`, or the single
/// `DD_DJANGO_INSTRUMENT_*=true`."
///
/// Recognition (measured on ddtrace 3.19.9, Django 5.2):
/// - database: `meta.component = django-database` (name `<vendor>.query`, service `<alias>db`);
///   its twin is a child span with the same name and resource from the driver integration.
/// - cache: name `django.cache` (type `cache`, component `django`).
/// - template: name `django.template.render` (type `template`, component `django`).
public enum V4DjangoMinimalRule: CompatRule {
    public static let id: RuleID = "V4-DJANGO-MINIMAL"
    public static let severity = Severity.changes
    public static let confidence = Confidence.high
    public static let title = "Django spans that v4 no longer produces by default (DD_DJANGO_TRACING_MINIMAL=true)"
    public static let fix = "Set DD_DJANGO_TRACING_MINIMAL=false to keep these spans under v4; DD_DJANGO_INSTRUMENT_CACHES=true / DD_DJANGO_INSTRUMENT_TEMPLATES=true bring back only caches or templates, and DD_DJANGO_INSTRUMENT_DATABASES=true only merges Django's tags into the driver's spans (the database spans and their <alias>db service do not come back)."
    public static let evidence = "spans with component django-database, name django.cache or django.template.render"
    public static let reads: Set<WireSource> = [.spans]
    public static let summaryDetail = SummaryDetail.kinds(Kind.allCases.map(\.rawValue))
    @inlinable public static var spanReads: SpanReads { [.component] }

    /// One finding per (kind, service, normalised resource); database spans and their possible
    /// driver twins are noted for `traceEnded`. Inlined: the test of whether the span can be
    /// either (`mayMatch`); the rest out of line, for the spans that pass it.
    @inlinable @inline(__always)
    public static func judge<S: FindingSink>(_ facts: SpanFacts, into sink: inout S) {
        if mayMatch(name: facts.name, component: facts.component) { judgeCandidate(facts, into: &sink) }
    }

    /// False when a span is neither of the kinds (`kind`) nor a driver twin (`isDriverTwin`),
    /// by lengths alone: both need a component, except the cache and template spans named by
    /// their name.
    @inlinable @inline(__always)
    static func mayMatch(name: ByteView, component: ByteView) -> Bool {
        !component.isEmpty || name.count == ("django.cache" as StaticString).utf8CodeUnitCount
            || name.count == ("django.template.render" as StaticString).utf8CodeUnitCount
    }

    /// `judge` of a span that passed `mayMatch` (out of line).
    @inlinable @inline(never)
    static func judgeCandidate<S: FindingSink>(_ facts: SpanFacts, into sink: inout S) {
        let span = facts
        if let kind = kind(name: span.name, type: span.type, component: facts.component) {
            let slot = sink.record(id, kind: kind.code,
                                   operation: span.name, resource: span.resource, key: .empty,
                                   texts: { _ in FindingTexts(kind: kind.rawValue, fix: fix(for: kind), twinSeen: kind == .database ? 0 : nil) },
                                   sample: { SampleTexts() })
            if kind == .database {
                sink.note(TraceNote(rule: id, spanID: span.spanID, parentID: span.parentID, name: span.name, resource: span.resource, group: slot))
            }
        } else if isDriverTwin(name: span.name, component: facts.component) {
            sink.note(TraceNote(rule: id, spanID: span.spanID, parentID: span.parentID, name: span.name, resource: span.resource, group: -1))
        }
    }

    /// Counts the trace's database spans whose driver twin (a parent or child with the same name
    /// and resource from another component) was seen.
    /// The rule's id is read once (a `static let` is a lazily initialised global: a call per read).
    @inlinable
    public static func traceEnded<S: FindingSink>(into sink: inout S) {
        let notes = sink.traceNotes, me = id
        guard notes.contains(where: { $0.rule == me && $0.group < 0 }) else { return }
        for db in notes where db.rule == me && db.group >= 0 {
            let twin = notes.contains {
                $0.group < 0 && ($0.parentID == db.spanID || db.parentID == $0.spanID) && $0.rule == me
                    && same($0.name, db.name) && same($0.resource, db.resource)
            }
            if twin { sink.addTwin(toGroup: db.group) }
        }
    }

    public enum Kind: String, Sendable, Codable, CaseIterable {
        case database, cache, template

        /// Its position in `allCases` (the finding's kind code), by a switch.
        @inlinable public var code: UInt8 { switch self { case .database: 0; case .cache: 1; case .template: 2 } }

        /// The single setting that brings this kind back under v4.
        public var setting: String {
            switch self {
            case .database: "DD_DJANGO_INSTRUMENT_DATABASES=true"
            case .cache: "DD_DJANGO_INSTRUMENT_CACHES=true"
            case .template: "DD_DJANGO_INSTRUMENT_TEMPLATES=true"
            }
        }
    }

    /// The fix for one kind. Databases differ (spec revision "Django database fix text"): under
    /// v4, `DD_DJANGO_INSTRUMENT_DATABASES=true` merges Django's tags (`django.db.vendor`,
    /// `django.db.alias`) into the driver's spans; the separate spans, their `<alias>db` service
    /// and any monitor on it come back only with `DD_DJANGO_TRACING_MINIMAL=false`.
    public static func fix(for kind: Kind) -> String {
        switch kind {
        case .database:
            "Set DD_DJANGO_TRACING_MINIMAL=false to keep these spans and their <alias>db service under v4 (monitors on that service need it); DD_DJANGO_INSTRUMENT_DATABASES=true does not bring them back, it only merges Django's tags (django.db.vendor, django.db.alias) into the driver's spans."
        case .cache, .template:
            "Set \(kind.setting) to keep these spans under v4 (or DD_DJANGO_TRACING_MINIMAL=false to keep all of Django's instrumentation)."
        }
    }

    /// The kind of a span, from its name, type and `meta.component`; nil for spans v4 keeps.
    @inlinable
    public static func kind(name: ByteView, type: ByteView, component: ByteView) -> Kind? {
        if component.equals("django-database") { return .database }
        if name.equals("django.cache") { return .cache }
        if name.equals("django.template.render") { return .template }
        if component.equals("django") {
            if type.equals("cache") { return .cache }
            if type.equals("template") { return .template }
        }
        return nil
    }

    @inlinable
    static func same(_ a: ByteView, _ b: ByteView) -> Bool {
        a.count == b.count && (a.count == 0 || memcmp(a.base.baseAddress!, b.base.baseAddress!, a.count) == 0)
    }

    /// True when `child` is the driver's twin of a django-database span: same operation name and
    /// resource, another component (the driver integration, e.g. `sqlite`, `psycopg`).
    @inlinable
    public static func isDriverTwin(name: ByteView, component: ByteView) -> Bool {
        name.hasSuffix(".query") && !component.equals("django-database") && !component.isEmpty
    }
}

extension RuleID {
    /// V4-DJANGO-MINIMAL (`V4DjangoMinimalRule`).
    public static var djangoMinimal: RuleID { V4DjangoMinimalRule.id }
}
