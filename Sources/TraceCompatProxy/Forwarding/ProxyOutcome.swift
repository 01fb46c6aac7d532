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
    /// A request whose framing or head cannot be read one way only (`RequestFraming`), or a
    /// malformed chunked body: 400 (when no answer started yet) and the connection closed.
    case badRequest = "bad_request"
    /// `CONNECT`, or `TRACE` with a body: 405 and the connection closed.
    case methodNotAllowed = "method_not_allowed"
    /// A transfer coding other than `chunked` alone: 501 and the connection closed.
    case unsupportedTransferCoding = "unsupported_transfer_coding"
    /// The request head was not complete within `header_timeout`: 408 and the connection closed.
    case headerTimeout = "header_timeout"
    /// The client sent nothing for `body_timeout` in the middle of a request body: closed.
    case bodyTimeout = "body_timeout"

    /// The status the proxy answers with, when it still can.
    public var status: Int? {
        switch self {
        case .upstreamUnreachable: return 502
        case .upstreamTimeout: return 504
        case .payloadTooLarge: return 413
        case .badRequest: return 400
        case .methodNotAllowed: return 405
        case .unsupportedTransferCoding: return 501
        case .headerTimeout: return 408
        case .upstreamReset, .clientAborted, .bodyTimeout: return nil
        }
    }
}
