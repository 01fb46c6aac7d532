import CompatReport
import Configuration
import Foundation

/// Builds a `ProxyConfiguration` from flags, `TRACE_COMPAT_*` environment variables, the YAML
/// file and the defaults, in that order of precedence.
public enum ProxyConfigurationLoader {
    public static func load(flags: [AbsoluteConfigKey: ConfigValue], configFile: String?, environment: [String: String]? = nil) async throws -> ProxyConfiguration {
        let env = environment.map { EnvironmentVariablesProvider(environmentVariables: $0) } ?? EnvironmentVariablesProvider()
        let prefixedEnv = env.prefixKeys(with: ["trace_compat"])
        var providers: [any ConfigProvider] = [InMemoryProvider(name: "flags", values: flags), prefixedEnv]
        let envReader = ConfigReader(provider: prefixedEnv)
        if let path = configFile ?? envReader.string(forKey: "config") {
            providers.append(try await FileProvider<YAMLSnapshot>(filePath: .init(path)))
        }
        return try configuration(from: ConfigReader(providers: providers))
    }

    public static func configuration(from reader: ConfigReader) throws -> ProxyConfiguration {
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
        if let priority = reader.string(forKey: "analysis_priority") {
            guard let value = AnalysisPriority(rawValue: priority) else {
                throw ProxyConfigurationError.invalid(key: "analysis_priority", value: priority, reason: "expected idle or low")
            }
            configuration.analysisPriority = value
        }
        // Its default depends on the priority (`ProxyConfiguration.defaultAnalysisThreads`).
        configuration.analysisThreads = try strict(reader, "analysis_threads",
                                                   default: ProxyConfiguration.defaultAnalysisThreads(configuration.analysisPriority)) { try $0.requiredInt(forKey: $1) }
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
        configuration.headerTimeout = try strict(reader, "header_timeout", default: defaults.headerTimeout) { try $0.requiredDouble(forKey: $1) }
        configuration.bodyTimeout = try strict(reader, "body_timeout", default: defaults.bodyTimeout) { try $0.requiredDouble(forKey: $1) }
        configuration.idleTimeout = try strict(reader, "idle_timeout", default: defaults.idleTimeout) { try $0.requiredDouble(forKey: $1) }
        if let text = reader.string(forKey: "socket_mode") ?? reader.int(forKey: "socket_mode").map({ String($0) }) {
            // Octal digits, as chmod takes them ("0722"; quote it in YAML, where 0722 may be read as decimal).
            let digits = text.hasPrefix("0o") ? String(text.dropFirst(2)) : text
            guard let mode = Int(digits, radix: 8) else {
                throw ProxyConfigurationError.invalid(key: "socket_mode", value: text, reason: "expected octal permission bits such as 0722")
            }
            configuration.socketMode = mode
        }
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
