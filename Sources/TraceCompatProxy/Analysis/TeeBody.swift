import Foundation
import NIOCore
import TraceAnalysis

/// A request body kept for analysis while it is forwarded, without copying it on the event loop.
///
/// Parts of 16 KiB or more are kept as they came (the `ByteBuffer` NIO read them into, shared with
/// the write to the agent: a reference, no copy). Smaller parts are copied into a buffer of our own,
/// so that many tiny parts (a trickled chunked body) cannot pin many read buffers: a kept part's
/// storage is at most NIO's largest read buffer (64 KiB), so at most 4× its bytes, and about 1×
/// for the large bodies that matter. The one contiguous copy the decoder needs is made by the
/// analysis thread (`ForwardedRequest.captured()`), off the forwarding path.
struct TeeBody: Sendable {
    static let keepAsIsFrom = ProxyLimits.teeKeepAsIsFrom

    private(set) var parts: [ByteBuffer] = []
    private(set) var count = 0
    /// True when the last part is our own copy (small parts are appended to it).
    private var lastIsOwned = false

    init() {}

    mutating func append(_ part: ByteBuffer, allocator: ByteBufferAllocator) {
        let size = part.readableBytes
        guard size > 0 else { return }
        count += size
        if size >= Self.keepAsIsFrom {
            parts.append(part)
            lastIsOwned = false
            return
        }
        if lastIsOwned {
            var part = part
            parts[parts.count - 1].writeBuffer(&part)
            return
        }
        var own = allocator.buffer(capacity: max(size, 4096))
        var part = part
        own.writeBuffer(&part)
        parts.append(own)
        lastIsOwned = true
    }

    /// The body as one array (what the decoder reads).
    func contiguous() -> [UInt8] {
        if parts.count == 1 { return Array(parts[0].readableBytesView) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        for part in parts { bytes.append(contentsOf: part.readableBytesView) }
        return bytes
    }
}

/// A forwarded request as the event loop hands it to analysis: its method and path, the head's
/// bytes as the client sent them and the kept body parts. Turned into a `CapturedRequest` on
/// the analysis thread: the header strings are made there, not on the event loop.
public struct ForwardedRequest: Sendable {
    let method: String
    let uri: String
    /// The head's bytes, copied: a slice would keep NIO's whole read buffer (up to 64 KiB)
    /// from being reused for the next read while the request waits for analysis.
    let head: [UInt8]
    let scanned: ScannedRequestHead
    let body: TeeBody
    let receivedAt: Date

    /// `head`: the bytes `scanned` was read from (its offsets are relative to them).
    init(method: String, uri: String, head: ByteBuffer, scanned: ScannedRequestHead, body: TeeBody, receivedAt: Date) {
        self.method = method
        self.uri = uri
        self.head = Array(head.readableBytesView)
        self.scanned = scanned
        self.body = body
        self.receivedAt = receivedAt
    }

    /// The request as the analyzer reads it, without its body, made here on the analysis thread.
    /// Only the header fields the analysis reads (`CapturedRequest.tracerHeader(named:)`: the
    /// tracer's language and versions) become strings; the others (Host, Content-Type, the
    /// container id…) are not read, and a string for each of them on every payload was a
    /// measurable share of a small payload's analysis in the proxy; the fields are found without
    /// checking their syntax again (`forEachAcceptedField`: the scan on the event loop did). The request's bytes were
    /// forwarded as received in any case. (`AnalysisQueue` lends a body held in one buffer to the
    /// analyzer beside it, uncopied.)
    func capturedHead() -> CapturedRequest {
        var cache = TracerHeaderCache()
        return capturedHead(using: &cache)
    }

    /// `capturedHead()`, with the header strings taken from `cache` when this request's tracer
    /// fields have the same bytes as the last request's (an analysis thread keeps one cache).
    func capturedHead(using cache: inout TracerHeaderCache) -> CapturedRequest {
        let headers = head.withUnsafeBytes { cache.headers(in: $0, scanned: scanned) }
        return CapturedRequest(method: method, path: uri, headers: headers, body: [], receivedAt: receivedAt)
    }

    /// The request as the analyzer reads it (the header strings and the one copy of the body
    /// are made here).
    func captured() -> CapturedRequest {
        var request = capturedHead()
        request.body = body.contiguous()
        return request
    }
}
