import MessagePack

/// Tag keys that ddtrace or one of its integrations writes itself, so their values say nothing
/// about how the user's code calls `set_tag`.
///
/// The guide: "Skip keys that ddtrace itself writes (`_dd.*`, `error.*`, `http.*`, `component`,
/// `span.kind`, …)" and, for metrics, "keys that neither ddtrace nor an integration writes
/// (`_dd.*`, `_sampling_priority_v1`, `process_id`, `db.row_count`, `_dd.measured`, `_dd.top_level`,
/// `_dd.tracer_kr`, `*.rate`, …)". The lists below start from every key the fixtures' ddtrace 3.19.9
/// Django and manual traffic carries that the program did not set (`env`, `version`, `language`,
/// `runtime-id`, `_dd.base_service`, `db.*`, `django.*`, `out.host`, `server.address`,
/// `network.destination.port`, …) and add the namespaces of ddtrace's other integrations.
/// A key under one of these namespaces is never judged, even if a user wrote it: missing a user
/// tag there is better than reporting ddtrace's own tags as the user's bug.
public enum KnownTagKeys {
    /// Whole keys ddtrace writes on every span or on root spans.
    @usableFromInline static let exactMeta: [StaticString] = [
        "component", "language", "runtime-id", "env", "version", "service", "events",
        "process_id", "span.kind", "resource.name", "operation.name", "error", "ml_app",
        "aws_service", "region", "aws.region", "tablename", "bucketname", "queuename",
        "topicname", "streamname", "rulename", "statemachinename", "sql.query", "cursor",
    ]

    /// Namespaces (prefixes) written by ddtrace itself or its integrations.
    @usableFromInline static let prefixes: [StaticString] = [
        "_dd.", "_dd1.", "_ml_obs.", "error.", "http.", "span.", "db.", "django.", "out.", "peer.",
        "network.", "server.", "client.", "rpc.", "grpc.", "messaging.", "kafka.", "rabbitmq.",
        "amqp.", "kombu.", "celery.", "rq.", "sql.", "sqlalchemy.", "pymongo.", "mongodb.",
        "redis.", "valkey.", "memcached.", "pylibmc.", "cassandra.", "elasticsearch.",
        "opensearch.", "aws.", "botocore.", "s3.", "sqs.", "sns.", "dynamodb.", "kinesis.",
        "flask.", "falcon.", "bottle.", "pyramid.", "tornado.", "aiohttp.", "starlette.",
        "fastapi.", "sanic.", "cherrypy.", "molten.", "requests.", "httpx.", "urllib3.",
        "jinja2.", "mako.", "graphql.", "openai.", "langchain.", "langgraph.", "anthropic.",
        "bedrock.", "google_genai.", "google_generativeai.", "vertexai.", "litellm.", "crewai.",
        "openai_agents.", "mcp.", "appsec.", "asm.", "iast.", "_iast.", "usr.", "test.",
        "test_session.", "test_module.", "test_suite.", "pytest.", "ci.", "git.", "os.",
        "runtime.", "process.", "thread.", "telemetry.", "dd.", "datadog.", "tracer.",
        "llmobs.", "gen_ai.", "vllm.", "azure.", "gcp.", "pubsub.", "kafka_", "dramatiq.",
        "wsgi.", "asgi.", "websocket.", "subprocess.", "cmd.", "protobuf.", "avro.", "psycopg.",
        "mysql.", "sqlite.", "asyncpg.", "aiopg.", "vertica.", "snowflake.", "pynamodb.",
    ]

    /// Whole metric keys ddtrace writes.
    @usableFromInline static let exactMetrics: [StaticString] = [
        "_sampling_priority_v1", "process_id", "_top_level", "_dd.measured", "_dd.top_level",
        "_dd.tracer_kr", "db.row_count", "db.rowcount", "system.pid",
    ]

    /// True when `key` is a meta key that ddtrace or an integration writes (never judged by
    /// V4-TAG-REPR).
    @inlinable
    public static func isTracerWrittenMeta(_ key: ByteView) -> Bool {
        Lookup.exactMeta.contains(key) || hasKnownPrefix(key)
    }

    /// True when `key` is a metrics key that ddtrace or an integration writes (never reported by
    /// V4-TAG-NUMERIC): the exact keys, every namespace of `isTracerWrittenMeta`, and `*.rate`.
    @inlinable
    public static func isTracerWrittenMetric(_ key: ByteView) -> Bool {
        if key.count > 0 && key[0] == UInt8(ascii: "_") { return true }  // _dd.*, _sampling_priority_v1, _top_level, …
        if key.hasSuffix(".rate") || key.hasSuffix("_rate") { return true }
        return Lookup.exactMetrics.contains(key) || hasKnownPrefix(key)
    }

    /// True when the key's namespace (up to its first `.`) is one of `prefixes`: one hash lookup
    /// instead of a compare per prefix (this runs for every metric key of every span).
    @usableFromInline
    static func hasKnownPrefix(_ key: ByteView) -> Bool {
        if key.hasPrefix("kafka_") { return true }
        guard let dot = key.base.firstIndex(of: UInt8(ascii: ".")) else { return false }
        return Lookup.prefixes.contains(ByteView(UnsafeRawBufferPointer(rebasing: key.base[..<(dot + 1)])))
    }

    /// The lists as open-addressed hash tables (built once), each hit confirmed byte for byte.
    /// A lookup is a hash of the key's length and its first and last eight bytes (every byte of
    /// keys up to 16 bytes, which most are), a mask and a compare of the literal at that bucket:
    /// the `Dictionary<UInt64, [StaticString]>` it replaces ran FNV-1a over every byte and then
    /// SipHash over the result, on every metrics key of every span (5 % of a small payload).
    @usableFromInline
    struct Lookup: Sendable {
        /// Buckets (a power of two, at least twice the keys); nil is empty.
        let buckets: [StaticString?]

        init(_ keys: [StaticString]) {
            var n = 16
            while n < keys.count * 2 { n <<= 1 }
            var table = [StaticString?](repeating: nil, count: n)
            for k in keys {
                let view = ByteView(UnsafeRawBufferPointer(start: k.utf8Start, count: k.utf8CodeUnitCount))
                var i = Int(truncatingIfNeeded: Self.hash(view)) & (n - 1)
                while let there = table[i] {
                    if view.equals(there) { break }
                    i = (i + 1) & (n - 1)
                }
                table[i] = k
            }
            buckets = table
        }

        @usableFromInline
        func contains(_ key: ByteView) -> Bool {
            buckets.withUnsafeBufferPointer { b in
                let mask = b.count - 1
                var i = Int(truncatingIfNeeded: Self.hash(key)) & mask
                while let k = b[i] {
                    if key.equals(k) { return true }
                    i = (i + 1) & mask
                }
                return false
            }
        }

        /// `ByteView.edgeWords` (the length and the first and last eight bytes), folded.
        @usableFromInline @inline(__always)
        static func hash(_ v: ByteView) -> UInt64 {
            let y = v.edgeWords
            return y ^ (y >> 29)
        }

        @usableFromInline static let exactMeta = Lookup(KnownTagKeys.exactMeta)
        @usableFromInline static let exactMetrics = Lookup(KnownTagKeys.exactMetrics)
        @usableFromInline static let prefixes = Lookup(KnownTagKeys.prefixes.filter { $0.description != "kafka_" })
    }

    /// String conveniences for tests and telemetry paths.
    public static func isTracerWrittenMeta(_ key: String) -> Bool {
        var k = key
        return k.withUTF8 { isTracerWrittenMeta(ByteView(UnsafeRawBufferPointer($0))) }
    }

    public static func isTracerWrittenMetric(_ key: String) -> Bool {
        var k = key
        return k.withUTF8 { isTracerWrittenMetric(ByteView(UnsafeRawBufferPointer($0))) }
    }
}
