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
    public static let fix = "Set DD_DJANGO_TRACING_MINIMAL=false to keep them all, or only the kind you need: DD_DJANGO_INSTRUMENT_DATABASES=true, DD_DJANGO_INSTRUMENT_CACHES=true, DD_DJANGO_INSTRUMENT_TEMPLATES=true."
    public static let evidence = "spans with component django-database, name django.cache or django.template.render"

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

    /// The fix for one kind.
    public static func fix(for kind: Kind) -> String {
        "Set \(kind.setting) to keep these spans under v4 (or DD_DJANGO_TRACING_MINIMAL=false to keep all of Django's instrumentation)."
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
