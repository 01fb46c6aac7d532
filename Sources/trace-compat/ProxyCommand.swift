import ArgumentParser
import CompatReport
import Configuration
import Foundation
import Logging
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
    @Option(help: "Analysis threads (default: one per core with --analysis-priority idle, cores - 1 and at least 1 with low). Env TRACE_COMPAT_ANALYSIS_THREADS.")
    var analysisThreads: Int?
    @Option(help: "How analysis shares the CPU with forwarding: idle (SCHED_IDLE, only spare CPU; default) or low (nice 10). Env TRACE_COMPAT_ANALYSIS_PRIORITY.")
    var analysisPriority: String?
    @Flag(inversion: .prefixedNo, help: "Analyse the teed traffic (default on); --no-analysis only forwards (for measuring the forwarding cost). Env TRACE_COMPAT_ANALYSIS.")
    var analysis: Bool?
    @Option(help: "Samples kept per finding group in the report (default 5). Env TRACE_COMPAT_SAMPLE_LIMIT.")
    var sampleLimit: Int?
    @Option(help: "Seconds a client has to send a whole request head; then 408 and close (default 60, as nginx). Env TRACE_COMPAT_HEADER_TIMEOUT.")
    var headerTimeout: Double?
    @Option(help: "Seconds a client may fall silent while sending a body; then the connection closes (default 60, as nginx). Env TRACE_COMPAT_BODY_TIMEOUT.")
    var bodyTimeout: Double?
    @Option(help: "Seconds a keep-alive client connection may idle between requests (default 75, as nginx). Env TRACE_COMPAT_IDLE_TIMEOUT.")
    var idleTimeout: Double?
    @Option(help: "Permission bits (octal) of a unix --listen socket (default 0722, as the agent's apm socket). Env TRACE_COMPAT_SOCKET_MODE.")
    var socketMode: String?
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
        try await ProxyService.runUntilSignalled(configuration: configuration, logger: logger,
                                                 environment: ProcessInfo.processInfo.environment)
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
        put("header_timeout", headerTimeout.map(ConfigContent.double))
        put("body_timeout", bodyTimeout.map(ConfigContent.double))
        put("idle_timeout", idleTimeout.map(ConfigContent.double))
        put("socket_mode", socketMode.map(ConfigContent.string))
        return values
    }
}
