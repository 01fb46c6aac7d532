import NIOCore

/// The request head as the agent gets it, decided on the bytes the client sent. I/O-free.
///
/// A tracer's usual head (HTTP/1.1, origin-form target, no hop-by-hop header) goes as received,
/// byte for byte: no copy, no re-encoding. Only a head that must change is written again (the
/// tests hold it to the same rules written on decoded headers, `DecodedHeadersReference.swift`):
/// - the hop-by-hop headers removed (RFC 9110 §7.6.1): `Connection` and every header it names
///   (never `Content-Length` or `Host`), `Keep-Alive`, `Proxy-Connection`, `TE`,
///   `Transfer-Encoding`, `Upgrade`; the rest unchanged and in order;
/// - a chunked body's framing declared again (`Transfer-Encoding: chunked`: its chunks go as the
///   client sent them, checked by `ChunkedBodyScanner`);
/// - an absolute-form target made origin-form (RFC 9112 §3.2.2: the request only ever goes to
///   the configured agent), and HTTP/1.0 sent as HTTP/1.1 on the agent hop (the proxy's own
///   keep-alive connection).
public enum UpstreamRequestHead {
    /// True when `head` (scanned in `bytes`) goes to the agent exactly as received.
    public static func isRelayedAsReceived(_ head: ScannedRequestHead, in bytes: UnsafeRawBufferPointer) -> Bool {
        let first = bytes[head.target.lowerBound]
        return head.http11 && !head.flags.contains(.hopByHop) && head.start == 0 && (first == UInt8(ascii: "/") || first == UInt8(ascii: "*"))
    }

    /// The head written again for the agent: `method SP target SP HTTP/1.1`, the end-to-end
    /// fields as `name: value` in order, the framing, the empty line. `target`: the origin-form
    /// target (`ProxyServerHandler.originForm`), or nil to keep the client's.
    public static func rewritten(_ head: ScannedRequestHead, in bytes: UnsafeRawBufferPointer, target: String?,
                                 allocator: ByteBufferAllocator) -> ByteBuffer {
        var named = HopByHopHeaders.always
        head.forEachField(in: bytes) { name, value in
            guard HTTPHeadSyntax.equalsIgnoringCase(bytes, name, "connection") else { return }
            HTTPHeadSyntax.forEachListElement(bytes, value) { token in
                let option = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[token]), as: UTF8.self).lowercased()
                if !HopByHopHeaders.neverNominated.contains(option) { named.insert(option) }
            }
        }
        var out = allocator.buffer(capacity: head.length + 32)
        out.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[head.method]))
        out.writeInteger(HTTPHeadSyntax.sp)
        if let target { out.writeString(target) } else { out.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[head.target])) }
        out.writeStaticString(" HTTP/1.1\r\n")
        head.forEachField(in: bytes) { name, value in
            let lowered = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[name]), as: UTF8.self).lowercased()
            guard !named.contains(lowered) else { return }
            out.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[name]))
            out.writeStaticString(": ")
            out.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[value]))
            out.writeStaticString("\r\n")
        }
        if head.framing == .chunked { out.writeStaticString("transfer-encoding: chunked\r\n") }
        out.writeStaticString("\r\n")
        return out
    }
}
