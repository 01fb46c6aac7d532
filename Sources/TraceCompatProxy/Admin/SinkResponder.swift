import AgentImitation

/// Answers as the agent would when there is no agent (`--upstream none`): audits without one.
///
/// The answers are `AgentImitation`'s, the one imitation of the agent's receiver (also the
/// replay stub's): `{"rate_by_service":{}}` on `/v0.4`+ trace endpoints, `OK` on older ones, an
/// agent document on `GET /info`, an empty 200 on `/v0.6/stats`, `{}` on the proxied endpoints
/// (telemetry, evp_proxy, profiling…), and 404 elsewhere. Only status, Content-Type and body are
/// written: `LocalResponse` carries no other header, so the imitation's `Datadog-Agent-Version`
/// is not sent (the proxy reads that header from a real agent only, never from itself).
public enum SinkResponder {
    /// The imitation, with the agent's default request limit in its `/info`.
    static let imitation = AgentImitation(gitCommit: "trace-compat-sink", maxRequestBytes: ProxyConfiguration.agentMaxPayloadSize)

    /// The agent version the sink claims in `/info`.
    public static var agentVersion: String { imitation.version }

    public static var infoDocument: String { imitation.infoDocument }

    public static func respond(method: String, uri: String) -> LocalResponse {
        let answer = imitation.answer(method: method, path: uri)
        return LocalResponse(status: answer.status, contentType: answer.contentType ?? "text/plain; charset=utf-8", body: answer.body)
    }
}
