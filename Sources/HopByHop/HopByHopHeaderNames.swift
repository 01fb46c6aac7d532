/// The header names that belong to one connection, not to the message (RFC 9110 §7.6.1:
/// `Connection` and the headers it names, `Proxy-Connection`, `Keep-Alive`, `TE`,
/// `Transfer-Encoding`, `Upgrade`), lowercased. The one list: the proxy removes them on every hop
/// (`HopByHopHeaders`), the replayer leaves them out of what it replays (`ReplayPayload`).
///
/// Its own target, with no dependency, so that the replayer uses the proxy's list without pulling
/// in the proxy.
public enum HopByHopHeaderNames {
    public static let always: Set<String> = ["connection", "keep-alive", "proxy-connection", "te", "transfer-encoding", "upgrade"]
}
