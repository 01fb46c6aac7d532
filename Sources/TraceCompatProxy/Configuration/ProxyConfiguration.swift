import CompatReport
import Foundation

/// Everything `trace-compat proxy` needs to run, as one plain value.
///
/// The command builds it from a `ConfigReader` (flag > environment variable > config file > these
/// defaults); tests build it directly. No I/O happens here.
public struct ProxyConfiguration: Sendable, Equatable {
    /// Where the proxy accepts applications' traffic (`DD_TRACE_AGENT_URL` points here).
    public var listen: ListenAddress
    /// When set, `/compat/…` and `/metrics` are served only here; on `listen` they are forwarded.
    public var adminListen: ListenAddress?
    /// The real agent, or `.none` for the sink mode.
    public var upstream: UpstreamTarget
    /// The report JSON path (`.md` and `.html` are written beside it).
    public var reportPath: String
    /// Seconds between two atomic report writes.
    public var flushInterval: Double
    /// Seconds to wait for the agent's answer (and for connecting) before answering 504.
    public var upstreamTimeout: Double
    /// Largest request body forwarded; larger ones are answered 413.
    public var maxBodyBytes: Int
    /// Payloads waiting for analysis at most; more are forwarded and counted `not_analysed`.
    public var queueCapacity: Int
    /// Body bytes waiting for analysis at most; beyond, like a full queue.
    public var queueMaxBytes: Int
    /// Analysis threads, each with its own `Analyzer` (default: `defaultAnalysisThreads`).
    public var analysisThreads: Int
    /// How the analysis threads share the CPU with forwarding (`analysis_priority`).
    public var analysisPriority: AnalysisPriority
    /// False: forward only, tee nothing to analysis (`--no-analysis`, to measure the bare
    /// forwarding cost); the report then only counts proxy errors.
    public var analysis: Bool
    /// Start a new report instead of continuing the file at `reportPath`.
    public var fresh: Bool
    /// Keep no tag value excerpts in the report.
    public var redact: Bool
    /// Samples (trace/span ids, excerpts) kept per finding group in the report.
    public var sampleLimit: Int
    /// Seconds a client has to complete a request head, from its first byte (or from accept):
    /// then 408 and close (`header_timeout`).
    public var headerTimeout: Double
    /// Seconds of client silence tolerated while a request body is being received: then the
    /// connection closes, counted `body_timeout` (`body_timeout`).
    public var bodyTimeout: Double
    /// Seconds a keep-alive client connection may sit idle between requests (`idle_timeout`).
    public var idleTimeout: Double
    /// Permission bits of a unix listening socket (`socket_mode`, e.g. 0o722).
    public var socketMode: Int
    /// Bounds on the report's finding groups and apps (`ReportLimits`; keys
    /// `max_finding_groups_per_scope`, `max_finding_groups`, `max_apps`).
    public var reportLimits: ReportLimits

    /// The Datadog Agent's own request limit (see `ProxyLimits.agentMaxPayloadSize`).
    public static let agentMaxPayloadSize = ProxyLimits.agentMaxPayloadSize

    public static let defaultListen = ListenAddress.tcp(host: "127.0.0.1", port: 8136)
    public static let defaultUpstream = UpstreamTarget.http(host: "127.0.0.1", port: 8126)
    public static let defaultReportPath = "trace-compat-report.json"

    public init(
        listen: ListenAddress = Self.defaultListen,
        adminListen: ListenAddress? = nil,
        upstream: UpstreamTarget = Self.defaultUpstream,
        reportPath: String = Self.defaultReportPath,
        flushInterval: Double = ProxyLimits.flushInterval,
        upstreamTimeout: Double = ProxyLimits.upstreamTimeout,
        maxBodyBytes: Int = ProxyLimits.agentMaxPayloadSize,
        queueCapacity: Int = ProxyLimits.analysisQueueCapacity,
        queueMaxBytes: Int = ProxyLimits.analysisQueueMaxBytes,
        analysisThreads: Int? = nil,
        analysisPriority: AnalysisPriority = .idle,
        fresh: Bool = false,
        redact: Bool = false,
        sampleLimit: Int = ProxyLimits.sampleLimit,
        reportLimits: ReportLimits = .default,
        analysis: Bool = true,
        headerTimeout: Double = ProxyLimits.headerTimeout,
        bodyTimeout: Double = ProxyLimits.bodyTimeout,
        idleTimeout: Double = ProxyLimits.idleTimeout,
        socketMode: Int = ProxyLimits.socketMode
    ) {
        self.listen = listen
        self.adminListen = adminListen
        self.upstream = upstream
        self.reportPath = reportPath
        self.flushInterval = flushInterval
        self.upstreamTimeout = upstreamTimeout
        self.maxBodyBytes = maxBodyBytes
        self.queueCapacity = queueCapacity
        self.queueMaxBytes = queueMaxBytes
        self.analysisThreads = analysisThreads ?? Self.defaultAnalysisThreads(analysisPriority)
        self.analysisPriority = analysisPriority
        self.fresh = fresh
        self.redact = redact
        self.sampleLimit = sampleLimit
        self.reportLimits = reportLimits
        self.analysis = analysis
        self.headerTimeout = headerTimeout
        self.bodyTimeout = bodyTimeout
        self.idleTimeout = idleTimeout
        self.socketMode = socketMode
    }

    /// One analysis thread per core when analysis runs `SCHED_IDLE` (`idle`, the default): such a
    /// thread only gets a core that nothing else wants, so one per core lets analysis use all the
    /// spare CPU, which on a busy machine is spread over the cores in short gaps that a single
    /// thread cannot all take (Benchmarks/RESULTS.md, "Analysis threads"), and it never takes a
    /// core from forwarding. With `low` (nice 10, a share of a busy CPU), one core is left to
    /// forwarding: cores − 1, at least 1.
    public static func defaultAnalysisThreads(_ priority: AnalysisPriority, cores: Int = ProcessInfo.processInfo.activeProcessorCount) -> Int {
        switch priority {
        case .idle: return max(1, cores)
        case .low: return max(1, cores - 1)
        }
    }

    /// Problems a user must fix before the proxy can start (empty when valid).
    public func validationErrors() -> [String] {
        var errors: [String] = []
        if flushInterval <= 0 { errors.append("flush_interval must be > 0 seconds (got \(flushInterval))") }
        if upstreamTimeout <= 0 { errors.append("upstream_timeout must be > 0 seconds (got \(upstreamTimeout))") }
        if maxBodyBytes <= 0 { errors.append("max_body_bytes must be > 0 (got \(maxBodyBytes))") }
        if queueCapacity <= 0 { errors.append("queue_capacity must be > 0 (got \(queueCapacity))") }
        if queueMaxBytes <= 0 { errors.append("queue_max_bytes must be > 0 (got \(queueMaxBytes))") }
        if analysisThreads <= 0 { errors.append("analysis_threads must be > 0 (got \(analysisThreads))") }
        if headerTimeout <= 0 { errors.append("header_timeout must be > 0 seconds (got \(headerTimeout))") }
        if bodyTimeout <= 0 { errors.append("body_timeout must be > 0 seconds (got \(bodyTimeout))") }
        if idleTimeout <= 0 { errors.append("idle_timeout must be > 0 seconds (got \(idleTimeout))") }
        if !(0...0o777).contains(socketMode) { errors.append("socket_mode must be permission bits 0000-0777 (got \(String(socketMode, radix: 8)))") }
        if sampleLimit < 0 { errors.append("sample_limit must be >= 0 (got \(sampleLimit))") }
        if reportLimits.groupsPerScope <= 0 || reportLimits.groups <= 0 || reportLimits.apps <= 0 {
            errors.append("max_finding_groups_per_scope, max_finding_groups and max_apps must be > 0")
        }
        if reportPath.isEmpty { errors.append("report must name a file") }
        return errors
    }
}

/// A place to listen: `HOST:PORT` or `unix:///path/to.sock`.
public enum ListenAddress: Sendable, Equatable, CustomStringConvertible {
    case tcp(host: String, port: Int)
    case unix(path: String)

    /// Parses `127.0.0.1:8136`, `[::1]:8136`, `localhost:0` or `unix:///tmp/x.sock`.
    public init(parsing text: String) throws(ProxyConfigurationError) {
        if text.hasPrefix("unix://") {
            let path = String(text.dropFirst("unix://".count))
            guard path.hasPrefix("/") else { throw .invalid(key: "listen", value: text, reason: "a unix socket needs an absolute path: unix:///path/to.sock") }
            self = .unix(path: path)
            return
        }
        guard let (host, port) = Self.hostAndPort(text) else {
            throw .invalid(key: "listen", value: text, reason: "expected HOST:PORT or unix:///path")
        }
        self = .tcp(host: host, port: port)
    }

    static func hostAndPort(_ text: String) -> (String, Int)? {
        guard let colon = text.lastIndex(of: ":") else { return nil }
        var host = String(text[..<colon])
        guard let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port), !host.isEmpty else { return nil }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host, port)
    }

    /// True for addresses only this machine can reach (the safe default).
    public var isLoopback: Bool {
        switch self {
        case .unix: return true
        case .tcp(let host, _): return host == "localhost" || host == "::1" || host.hasPrefix("127.")
        }
    }

    public var description: String {
        switch self {
        case .tcp(let host, let port): return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .unix(let path): return "unix://\(path)"
        }
    }
}

/// Where requests go: the agent over TCP or a unix socket, or nowhere (sink mode).
public enum UpstreamTarget: Sendable, Equatable, CustomStringConvertible {
    case http(host: String, port: Int)
    case unix(path: String)
    case none

    /// Parses `http://HOST:PORT`, `unix:///path` or `none`.
    public init(parsing text: String) throws(ProxyConfigurationError) {
        if text == "none" {
            self = .none
        } else if text.hasPrefix("unix://") {
            let path = String(text.dropFirst("unix://".count))
            guard path.hasPrefix("/") else { throw .invalid(key: "upstream", value: text, reason: "a unix socket needs an absolute path: unix:///path/to.sock") }
            self = .unix(path: path)
        } else if text.hasPrefix("http://") {
            var rest = String(text.dropFirst("http://".count))
            while rest.hasSuffix("/") { rest.removeLast() }
            if !rest.contains(":") || rest.hasSuffix("]") { rest += ":80" }
            guard let (host, port) = ListenAddress.hostAndPort(rest), port > 0 else {
                throw .invalid(key: "upstream", value: text, reason: "expected http://HOST:PORT")
            }
            self = .http(host: host, port: port)
        } else {
            throw .invalid(key: "upstream", value: text, reason: "expected http://HOST:PORT, unix:///path or none (https is not spoken by the agent's receiver)")
        }
    }

    public var description: String {
        switch self {
        case .http(let host, let port): return host.contains(":") ? "http://[\(host)]:\(port)" : "http://\(host):\(port)"
        case .unix(let path): return "unix://\(path)"
        case .none: return "none"
        }
    }
}

public enum ProxyConfigurationError: Error, Equatable, CustomStringConvertible {
    case invalid(key: String, value: String, reason: String)

    public var description: String {
        switch self {
        case .invalid(let key, let value, let reason): return "invalid \(key) '\(value)': \(reason)"
        }
    }
}
