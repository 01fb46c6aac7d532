/// How an exchange ended, as the `status` label of `trace_compat_requests_total`.
public enum ExchangeStatus: Sendable, Equatable {
    /// The client left (or the exchange was cut) before any status was decided.
    case aborted
    /// The agent could not be reached or dropped the connection before a status line.
    case error
    /// The status line the client got (the agent's, or one the proxy answered itself).
    case http(Int)

    /// The metric label: the status code, or `aborted` / `error`.
    public var label: String {
        switch self {
        case .aborted: return "aborted"
        case .error: return "error"
        case .http(let code): return String(code)
        }
    }
}
