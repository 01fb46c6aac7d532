/// What went wrong in an exchange, in words a user can act on; each is counted in the report
/// (`ReportStore.countProxyError`) and in `trace_compat_proxy_errors_total{kind}`.
public enum ProxyOutcome: String, Sendable, Equatable, CaseIterable {
    /// The agent refused the connection or closed it before answering: 502.
    case upstreamUnreachable = "upstream_unreachable"
    /// The agent did not answer within `upstream_timeout`: 504.
    case upstreamTimeout = "upstream_timeout"
    /// The request body is larger than `max_body_bytes`: 413.
    case payloadTooLarge = "payload_too_large"
    /// The agent closed the connection in the middle of its answer: the client's connection is
    /// closed too, so it sees a truncated answer rather than a wrong one.
    case upstreamReset = "upstream_reset"
    /// The client went away before the exchange finished.
    case clientAborted = "client_aborted"

    /// The status the proxy answers with, when it still can.
    public var status: Int? {
        switch self {
        case .upstreamUnreachable: return 502
        case .upstreamTimeout: return 504
        case .payloadTooLarge: return 413
        case .upstreamReset, .clientAborted: return nil
        }
    }
}
