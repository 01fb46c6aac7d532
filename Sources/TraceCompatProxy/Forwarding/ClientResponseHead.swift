import HopByHop
import NIOCore

/// The agent's answer head as the client gets it, without I/O. The usual answer (HTTP/1.1 client,
/// no hop-by-hop header, the client connection kept) goes on as the agent's bytes, unchanged
/// (`rewritten == nil`). Otherwise the head is written again: the status line with the client's
/// version, hop-by-hop headers removed (RFC 9110 §7.6.1: `Connection`, the headers it names,
/// `Keep-Alive`, `Proxy-Connection`, `TE`, `Transfer-Encoding`, `Upgrade`), and `Connection: close`
/// when the client connection ends with this answer. The body is relayed as the agent sent it,
/// chunk framing included (its `Transfer-Encoding` kept), except to an HTTP/1.0 client, which
/// cannot read chunks: it gets the data de-chunked, delimited by the close (RFC 9112 §6.3 item 8).
/// A body the agent delimits by its close is delimited by the close on the client's side too.
struct ClientResponseHead {
    enum Body: Equatable {
        /// The agent's body bytes as read.
        case relayed
        /// The data of the agent's chunked body, without its chunk framing.
        case deChunked
    }

    /// The head to write instead of the agent's, or nil when the agent's bytes go as they are.
    var rewritten: [UInt8]?
    var body: Body
    /// The client connection closes after this answer.
    var closeAfterResponse: Bool

    /// `bytes`: the head as the agent sent it (offsets of `upstream` refer to it).
    init(upstream: ScannedResponseHead, bytes: UnsafeRawBufferPointer, requestHTTP11: Bool, closeAfterResponse: Bool) {
        var close = closeAfterResponse
        var body = Body.relayed
        switch upstream.framing {
        case .chunked where !requestHTTP11:
            body = .deChunked
            close = true
        case .untilClose:
            close = true
        default:
            break
        }
        self.body = body
        self.closeAfterResponse = close
        guard upstream.hasHopByHop || close || !requestHTTP11 else {
            rewritten = nil
            return
        }
        rewritten = Self.rewrite(bytes, end: upstream.end, http11: requestHTTP11, keepTransferEncoding: body == .relayed && upstream.framing == .chunked, close: close)
    }

    /// The head written again (a rare path: an answer with hop-by-hop headers, or to a client
    /// whose connection closes after it, or an HTTP/1.0 client).
    private static func rewrite(_ bytes: UnsafeRawBufferPointer, end: Int, http11: Bool, keepTransferEncoding: Bool, close: Bool) -> [UInt8] {
        var lineEnd = 0
        while bytes[lineEnd] != HTTPHeadSyntax.cr { lineEnd += 1 }
        var fields: [(name: String, line: Range<Int>)] = []
        var nominated = HopByHopHeaderNames.always
        _ = HTTPHeadSyntax.forEachField(bytes, from: lineEnd + 2, end: end - 2, maxFields: .max) { name, value in
            let lowered = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[name]), as: UTF8.self).lowercased()
            if lowered == "connection" {
                HTTPHeadSyntax.forEachListElement(bytes, value) { token in
                    let option = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[token]), as: UTF8.self).lowercased()
                    if !HopByHopHeaders.neverNominated.contains(option) { nominated.insert(option) }
                }
            }
            fields.append((lowered, name.lowerBound..<value.upperBound))
            return nil
        }
        if keepTransferEncoding { nominated.remove("transfer-encoding") }
        var out: [UInt8] = Array((http11 ? "HTTP/1.1" : "HTTP/1.0").utf8)
        out.reserveCapacity(end + 24)
        out += UnsafeRawBufferPointer(rebasing: bytes[8..<lineEnd])
        out += [HTTPHeadSyntax.cr, HTTPHeadSyntax.lf]
        for field in fields where !nominated.contains(field.name) {
            out += UnsafeRawBufferPointer(rebasing: bytes[field.line])
            out += [HTTPHeadSyntax.cr, HTTPHeadSyntax.lf]
        }
        if close { out += Array("Connection: close\r\n".utf8) }
        out += [HTTPHeadSyntax.cr, HTTPHeadSyntax.lf]
        return out
    }
}
