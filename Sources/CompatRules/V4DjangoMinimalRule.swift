import MessagePack

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
    public static let id = RuleID.djangoMinimal
    public static let severity = Severity.changes
    public static let confidence = Confidence.high
    public static let title = "Django spans that v4 no longer produces by default (DD_DJANGO_TRACING_MINIMAL=true)"
    public static let fix = "Set DD_DJANGO_TRACING_MINIMAL=false to keep these spans under v4; DD_DJANGO_INSTRUMENT_CACHES=true / DD_DJANGO_INSTRUMENT_TEMPLATES=true bring back only caches or templates, and DD_DJANGO_INSTRUMENT_DATABASES=true only merges Django's tags into the driver's spans (the database spans and their <alias>db service do not come back)."
    public static let evidence = "spans with component django-database, name django.cache or django.template.render"
    public static let reads: Set<WireSource> = [.spans]
    public static let summaryDetail = SummaryDetail.kinds(Kind.allCases.map(\.rawValue))

    public enum Kind: String, Sendable, Codable, CaseIterable {
        case database, cache, template

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

    /// True when `child` is the driver's twin of a django-database span: same operation name and
    /// resource, another component (the driver integration, e.g. `sqlite`, `psycopg`).
    @inlinable
    public static func isDriverTwin(name: ByteView, component: ByteView) -> Bool {
        name.hasSuffix(".query") && !component.equals("django-database") && !component.isEmpty
    }
}
