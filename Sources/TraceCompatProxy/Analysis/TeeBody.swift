import Foundation
import NIOCore
import NIOHTTP1
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

/// A forwarded request as the event loop hands it to analysis: the head as NIO parsed it and the
/// kept body parts. Turned into a `CapturedRequest` on the analysis thread.
public struct ForwardedRequest: Sendable {
    let method: String
    let uri: String
    let headers: HTTPHeaders
    let body: TeeBody
    let receivedAt: Date

    init(head: HTTPRequestHead, body: TeeBody, receivedAt: Date) {
        self.method = head.method.rawValue
        self.uri = head.uri
        self.headers = head.headers
        self.body = body
        self.receivedAt = receivedAt
    }

    /// The request as the analyzer reads it (the one copy of the body is made here).
    func captured() -> CapturedRequest {
        CapturedRequest(method: method, path: uri, headers: headers.map { (name: $0.name, value: $0.value) },
                        body: body.contiguous(), receivedAt: receivedAt)
    }
}
