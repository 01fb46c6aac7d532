import ArgumentParser
import CompatReport
import Configuration
import Foundation
import Logging
import Metrics
import ServiceLifecycle
import TraceCompatProxy

/// `trace-compat proxy`: point `DD_TRACE_AGENT_URL` here; everything reaches the agent unchanged
/// while the report grows. Every setting comes from a flag, else an environment variable
/// (`TRACE_COMPAT_<KEY>`), else the config file (`--config`), else the default
/// (see Config/trace-compat.yaml for every key).
struct ProxyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proxy",
        abstract: "Forward tracer traffic to the Datadog Agent unchanged and report what dd-trace-py v4 would break.",
        discussion: """
            Set DD_TRACE_AGENT_URL=http://127.0.0.1:8136 in the application. Admin routes: /compat/report(.json|.md|.html), \
            /compat/health, /metrics. Precedence: flag > TRACE_COMPAT_* environment variable > --config file > default.
            """
    )

    @Option(help: "Where applications connect: HOST:PORT or unix:///path (default 127.0.0.1:8136). Env TRACE_COMPAT_LISTEN.")
    var listen: String?
    @Option(help: "The agent: http://HOST:PORT, unix:///path, or none for the sink mode (default http://127.0.0.1:8126). Env TRACE_COMPAT_UPSTREAM.")
    var upstream: String?
    @Option(help: "Report JSON path; .md and .html are written beside it (default ./trace-compat-report.json). Env TRACE_COMPAT_REPORT.")
    var report: String?
    @Option(help: "YAML configuration file (see Config/trace-compat.yaml). Env TRACE_COMPAT_CONFIG.")
    var config: String?
    @Flag(inversion: .prefixedNo, help: "Start a new report instead of continuing the existing file. Env TRACE_COMPAT_FRESH.")
    var fresh: Bool?
    @Flag(inversion: .prefixedNo, help: "Keep no tag value excerpts in the report. Env TRACE_COMPAT_REDACT.")
    var redact: Bool?
    @Option(help: "Serve /compat/* and /metrics on their own listener (then they are forwarded on --listen). Env TRACE_COMPAT_ADMIN_LISTEN.")
    var adminListen: String?
    @Option(help: "Seconds between report writes (default 10). Env TRACE_COMPAT_FLUSH_INTERVAL.")
    var flushInterval: Double?
    @Option(help: "Seconds to wait for the agent before answering 504 (default 10). Env TRACE_COMPAT_UPSTREAM_TIMEOUT.")
    var upstreamTimeout: Double?
    @Option(help: "Largest request body; larger ones get 413 (default 26214400, the agent's apm_config.max_payload_size). Env TRACE_COMPAT_MAX_BODY_BYTES.")
    var maxBodyBytes: Int?
    @Option(help: "Payloads waiting for analysis at most; beyond, forwarded and counted not_analysed (default 1024). Env TRACE_COMPAT_QUEUE_CAPACITY.")
    var queueCapacity: Int?
    @Option(help: "Body bytes held for analysis at most (default 16777216 = 16 MiB). Env TRACE_COMPAT_QUEUE_MAX_BYTES.")
    var queueMaxBytes: Int?
    @Option(help: "Analysis threads (default: cores - 1, at least 1). Env TRACE_COMPAT_ANALYSIS_THREADS.")
    var analysisThreads: Int?
    @Option(help: "How analysis shares the CPU with forwarding: idle (SCHED_IDLE, only spare CPU; default) or low (nice 10). Env TRACE_COMPAT_ANALYSIS_PRIORITY.")
    var analysisPriority: String?
    @Flag(inversion: .prefixedNo, help: "Analyse the teed traffic (default on); --no-analysis only forwards (for measuring the forwarding cost). Env TRACE_COMPAT_ANALYSIS.")
    var analysis: Bool?
    @Option(help: "Samples kept per finding group in the report (default 5). Env TRACE_COMPAT_SAMPLE_LIMIT.")
    var sampleLimit: Int?
    @Option(help: "Finding groups per rule, app and service; more are counted in an 'other' group (default 100). Env TRACE_COMPAT_MAX_FINDING_GROUPS_PER_SCOPE.")
    var maxFindingGroupsPerScope: Int?
    @Option(help: "Finding groups in the whole report; more are counted in 'other' groups (default 2000). Env TRACE_COMPAT_MAX_FINDING_GROUPS.")
    var maxFindingGroups: Int?
    @Option(help: "Applications kept by name; more are counted as app 'other' (default 32). Env TRACE_COMPAT_MAX_APPS.")
    var maxApps: Int?

    func run() async throws {
        let logger = Logger(label: "trace-compat.proxy")
        let configuration: ProxyConfiguration
        do {
            configuration = try await ProxyConfigurationLoader.load(flags: flagValues(), configFile: config)
        } catch {
            throw ValidationError("\(error)")
        }
        MallocTuning.apply(environment: ProcessInfo.processInfo.environment)
        let metrics = ProxyMetrics()
        MetricsSystem.bootstrap(metrics.metricsFactory)
        let group = ServiceGroup(
            configuration: .init(
                services: [ProxyService(configuration: configuration, logger: logger, metrics: metrics)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
    }

    /// The flags the user gave, as configuration keys (the highest-precedence provider).
    func flagValues() -> [AbsoluteConfigKey: ConfigValue] {
        var values: [AbsoluteConfigKey: ConfigValue] = [:]
        func put(_ key: String, _ content: ConfigContent?) {
            if let content { values[AbsoluteConfigKey(key.split(separator: ".").map(String.init))] = ConfigValue(content, isSecret: false) }
        }
        put("listen", listen.map(ConfigContent.string))
        put("upstream", upstream.map(ConfigContent.string))
        put("report", report.map(ConfigContent.string))
        put("admin_listen", adminListen.map(ConfigContent.string))
        put("fresh", fresh.map(ConfigContent.bool))
        put("redact", redact.map(ConfigContent.bool))
        put("flush_interval", flushInterval.map(ConfigContent.double))
        put("upstream_timeout", upstreamTimeout.map(ConfigContent.double))
        put("max_body_bytes", maxBodyBytes.map(ConfigContent.int))
        put("queue_capacity", queueCapacity.map(ConfigContent.int))
        put("queue_max_bytes", queueMaxBytes.map(ConfigContent.int))
        put("analysis_threads", analysisThreads.map(ConfigContent.int))
        put("analysis_priority", analysisPriority.map(ConfigContent.string))
        put("sample_limit", sampleLimit.map(ConfigContent.int))
        put("max_finding_groups_per_scope", maxFindingGroupsPerScope.map(ConfigContent.int))
        put("max_finding_groups", maxFindingGroups.map(ConfigContent.int))
        put("max_apps", maxApps.map(ConfigContent.int))
        put("analysis", analysis.map(ConfigContent.bool))
        return values
    }
}

/// Builds a `ProxyConfiguration` from flags, `TRACE_COMPAT_*` environment variables, the YAML
/// file and the defaults, in that order of precedence.
enum ProxyConfigurationLoader {
    static func load(flags: [AbsoluteConfigKey: ConfigValue], configFile: String?, environment: [String: String]? = nil) async throws -> ProxyConfiguration {
        let env = environment.map { EnvironmentVariablesProvider(environmentVariables: $0) } ?? EnvironmentVariablesProvider()
        let prefixedEnv = env.prefixKeys(with: ["trace_compat"])
        var providers: [any ConfigProvider] = [InMemoryProvider(name: "flags", values: flags), prefixedEnv]
        let envReader = ConfigReader(provider: prefixedEnv)
        if let path = configFile ?? envReader.string(forKey: "config") {
            providers.append(try await FileProvider<YAMLSnapshot>(filePath: .init(path)))
        }
        return try configuration(from: ConfigReader(providers: providers))
    }

    static func configuration(from reader: ConfigReader) throws -> ProxyConfiguration {
        let defaults = ProxyConfiguration()
        var configuration = defaults
        if let listen = reader.string(forKey: "listen") { configuration.listen = try ListenAddress(parsing: listen) }
        if let admin = reader.string(forKey: "admin_listen"), !admin.isEmpty { configuration.adminListen = try ListenAddress(parsing: admin) }
        if let upstream = reader.string(forKey: "upstream") { configuration.upstream = try UpstreamTarget(parsing: upstream) }
        configuration.reportPath = try strict(reader, "report", default: defaults.reportPath) { try $0.requiredString(forKey: $1) }
        configuration.flushInterval = try strict(reader, "flush_interval", default: defaults.flushInterval) { try $0.requiredDouble(forKey: $1) }
        configuration.upstreamTimeout = try strict(reader, "upstream_timeout", default: defaults.upstreamTimeout) { try $0.requiredDouble(forKey: $1) }
        configuration.maxBodyBytes = try strict(reader, "max_body_bytes", default: defaults.maxBodyBytes) { try $0.requiredInt(forKey: $1) }
        configuration.queueCapacity = try strict(reader, "queue_capacity", default: defaults.queueCapacity) { try $0.requiredInt(forKey: $1) }
        configuration.queueMaxBytes = try strict(reader, "queue_max_bytes", default: defaults.queueMaxBytes) { try $0.requiredInt(forKey: $1) }
        configuration.analysisThreads = try strict(reader, "analysis_threads", default: defaults.analysisThreads) { try $0.requiredInt(forKey: $1) }
        if let priority = reader.string(forKey: "analysis_priority") {
            guard let value = AnalysisPriority(rawValue: priority) else {
                throw ProxyConfigurationError.invalid(key: "analysis_priority", value: priority, reason: "expected idle or low")
            }
            configuration.analysisPriority = value
        }
        configuration.fresh = try strict(reader, "fresh", default: defaults.fresh) { try $0.requiredBool(forKey: $1) }
        configuration.redact = try strict(reader, "redact", default: defaults.redact) { try $0.requiredBool(forKey: $1) }
        configuration.sampleLimit = try strict(reader, "sample_limit", default: defaults.sampleLimit) { try $0.requiredInt(forKey: $1) }
        let limits = defaults.reportLimits
        let perScope = try strict(reader, "max_finding_groups_per_scope", default: limits.groupsPerScope) { try $0.requiredInt(forKey: $1) }
        let groups = try strict(reader, "max_finding_groups", default: limits.groups) { try $0.requiredInt(forKey: $1) }
        let apps = try strict(reader, "max_apps", default: limits.apps) { try $0.requiredInt(forKey: $1) }
        guard perScope > 0, groups > 0, apps > 0 else {
            throw ProxyConfigurationError.invalid(key: "max_finding_groups_per_scope / max_finding_groups / max_apps", value: "\(perScope) / \(groups) / \(apps)", reason: "must be > 0")
        }
        configuration.reportLimits = ReportLimits(groupsPerScope: perScope, groups: groups, apps: apps)
        configuration.analysis = try strict(reader, "analysis", default: defaults.analysis) { try $0.requiredBool(forKey: $1) }
        let errors = configuration.validationErrors()
        if !errors.isEmpty { throw ProxyConfigurationError.invalid(key: "configuration", value: "", reason: errors.joined(separator: "; ")) }
        return configuration
    }

    /// The value at `key`, the default when no source sets it, and an error naming the key when
    /// a source sets it to something that is not the right type (never a silent default).
    static func strict<Value>(_ reader: ConfigReader, _ key: String, default: Value,
                              _ read: (ConfigReader, ConfigKey) throws -> Value) throws -> Value {
        do {
            return try read(reader, ConfigKey(key))
        } catch {
            let present = reader.string(forKey: ConfigKey(key)) != nil || reader.int(forKey: ConfigKey(key)) != nil
                || reader.double(forKey: ConfigKey(key)) != nil || reader.bool(forKey: ConfigKey(key)) != nil
            guard present else { return `default` }
            throw ProxyConfigurationError.invalid(key: key, value: reader.string(forKey: ConfigKey(key)) ?? "?", reason: "\(error)")
        }
    }
}
