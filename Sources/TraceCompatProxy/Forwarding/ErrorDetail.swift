/// The `detail` of an error the proxy answers itself (`LocalResponse.error`): one sentence naming
/// the setting or the address involved, so that whoever reads the answer knows what to change.
enum ErrorDetail {
    /// `failure`: what was learnt where the error happened (the connect error, the refusal's reason).
    static func text(for outcome: ProxyOutcome, configuration: ProxyConfiguration, failure: String?) -> String {
        switch outcome {
        case .upstreamUnreachable:
            return "the agent at \(configuration.upstream) refused or dropped the connection" + (failure.map { ": \($0)" } ?? "")
        case .upstreamTimeout:
            return "the agent at \(configuration.upstream) did not answer within \(configuration.upstreamTimeout)s (upstream_timeout)"
        case .payloadTooLarge:
            return "request body larger than max_body_bytes=\(configuration.maxBodyBytes) (the agent's apm_config.max_payload_size)"
        case .badRequest, .methodNotAllowed, .unsupportedTransferCoding:
            return failure ?? outcome.rawValue
        case .headerTimeout:
            return "the request head was not complete within header_timeout=\(configuration.headerTimeout)s"
        case .upstreamReset, .clientAborted, .bodyTimeout:
            return outcome.rawValue
        }
    }
}
