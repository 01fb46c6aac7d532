/// When a client connection's writes are flushed, without I/O: once per read burst, not once per
/// part. A flush is a `writev` syscall; a small exchange is three parts on each side (head, body,
/// end), so flushing per part would cost three syscalls where one does.
///
/// Request parts written upstream while a client read is handled wait for the end of that read
/// burst (`channelReadComplete`), except a request's end, which is flushed at once: the answer
/// timer starts when the last request byte is handed to the agent. A write to another upstream
/// connection (a reconnect) first flushes what the previous one holds, so nothing waits behind a
/// connection no longer in use. Answer parts written to the client wait for the end of the
/// agent's read burst, or go with the answer's end.
///
/// Generic over the upstream connection so that tests need no socket.
struct FlushBatch<Upstream: AnyObject> {
    /// True while a client read is being handled.
    private(set) var insideClientRead = false
    /// The upstream channel holding request parts not flushed yet.
    private var upstream: Upstream?
    /// Answer parts written to the client since the last flush.
    private(set) var clientPending = false

    /// What to flush after request parts were written upstream.
    struct UpstreamFlush {
        /// Another upstream channel whose parts were written earlier: flush it first.
        var previous: Upstream?
        /// Flush the channel just written to now.
        var now: Bool
    }

    mutating func clientReadStarted() { insideClientRead = true }
    mutating func clientReadEnded() { insideClientRead = false }

    /// Request parts were written to `channel`; `endOfRequest` when they include the request's end.
    mutating func wroteUpstream(_ channel: Upstream, endOfRequest: Bool) -> UpstreamFlush {
        var flush = UpstreamFlush(previous: nil, now: false)
        if let waiting = upstream, waiting !== channel { flush.previous = waiting }
        if insideClientRead && !endOfRequest {
            upstream = channel
        } else {
            upstream = nil
            flush.now = true
        }
        return flush
    }

    /// The upstream channel to flush at the end of a read burst (or when the client leaves), if any.
    mutating func takeUpstream() -> Upstream? {
        defer { upstream = nil }
        return upstream
    }

    /// An answer part was written to the client (not flushed).
    mutating func wroteClient() { clientPending = true }

    /// Whether the client has unflushed answer parts; they count as flushed from now on.
    mutating func takeClient() -> Bool {
        defer { clientPending = false }
        return clientPending
    }
}
