import Testing
@testable import TraceCompatProxy

/// What `RequestHeadScanner` reads for forwarding (flags, offsets) and its bounds; whether it
/// reads heads as NIO did is `HeadScannerDifferentialTests`.
@Suite struct RequestHeadScannerTests {
    static func scan(_ text: String, resumeAt: Int = 0) -> RequestHeadScanner.Scan {
        Array(text.utf8).withUnsafeBytes { RequestHeadScanner.scan($0, resumeAt: resumeAt) }
    }

    static func head(_ text: String) -> ScannedRequestHead? {
        if case .head(let h) = scan(text) { return h }
        return nil
    }

    @Test func aTracersHeadIsReadWithItsOffsetsAndNoFlagToRewrite() throws {
        let text = "POST /v0.4/traces HTTP/1.1\r\nHost: 127.0.0.1:8126\r\nContent-Type: application/msgpack\r\nContent-Length: 3283\r\n\r\n\u{90}"
        let h = try #require(Self.head(text))
        #expect(h.start == 0 && h.end == text.utf8.count - 2 && h.method == 0..<4 && h.target == 5..<17 && h.fieldsStart == 28)
        #expect(h.http11 && h.framing == .contentLength(3283) && h.flags == [.keepAlive])
    }

    /// tchar (RFC 9110 §5.6.2), byte by byte against the grammar's own list: the bitmap is
    /// exactly the 77 bytes `!#$%&'*+-.^_`|~`, DIGIT and ALPHA, and no byte from 0x80 up.
    @Test func tokenBytesAreExactlyTheRFCsTchars() {
        let tchars = Set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)
        #expect(tchars.count == 77)
        for b in UInt8.min...UInt8.max {
            #expect(HTTPHeadSyntax.isToken(b) == tchars.contains(b), "byte \(b)")
        }
    }

    /// Field names compare ignoring ASCII case only (`ASCIICase`): every byte, at every place of a
    /// name with letters, a digit and a hyphen, against lowering `A`…`Z` and comparing; a byte
    /// from 0x80 up never matches a letter (no Unicode case folding), and lengths must agree.
    @Test func namesCompareIgnoringASCIICaseOnly() {
        let target: StaticString = "x-dd-9z"
        let base = Array("x-dd-9z".utf8)
        for i in base.indices {
            for b in UInt8.min...UInt8.max {
                var bytes = base
                bytes[i] = b
                let lowered = bytes.map { (0x41...0x5A).contains($0) ? $0 | 0x20 : $0 }
                bytes.withUnsafeBytes { raw in
                    #expect(HTTPHeadSyntax.equalsIgnoringCase(raw, 0..<raw.count, target) == (lowered == base), "byte \(b) at \(i)")
                }
            }
        }
        Array("X-DD-9Z".utf8).withUnsafeBytes { #expect(HTTPHeadSyntax.equalsIgnoringCase($0, 0..<$0.count, target)) }
        Array(" x-dd-9z".utf8).withUnsafeBytes { #expect(!HTTPHeadSyntax.equalsIgnoringCase($0, 1..<$0.count - 1, target)) }
        Array("x-dd-9z".utf8).withUnsafeBytes { #expect(HTTPHeadSyntax.equalsIgnoringCase($0, 0..<$0.count, target)) }
    }

    @Test func flagsSayWhatForwardingMustDo() {
        #expect(Self.head("POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n")?.flags == [.keepAlive, .expectsContinue])
        #expect(Self.head("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?.flags == [.hopByHop])
        #expect(Self.head("GET / HTTP/1.0\r\n\r\n")?.flags == [])
        #expect(Self.head("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")?.flags == [.hopByHop, .keepAlive])
        #expect(Self.head("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")?.flags == [.hopByHop, .keepAlive])
        for name in ["TE", "Upgrade", "Keep-Alive", "Proxy-Connection"] {
            #expect(Self.head("GET / HTTP/1.1\r\nHost: x\r\n\(name): y\r\n\r\n")?.flags.contains(.hopByHop) == true, "\(name)")
        }
        // Names of the same lengths that are not hop-by-hop.
        for name in ["XY", "Referer", "User-Agent", "Content-Language", "X-Forwarded-Proto"] {
            #expect(Self.head("GET / HTTP/1.1\r\nHost: x\r\n\(name): y\r\n\r\n")?.flags.contains(.hopByHop) == false, "\(name)")
        }
    }

    @Test func emptyLinesBeforeTheRequestLineAreSkipped() {
        #expect(Self.head("\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n").map { ($0.start, $0.method) } .map { $0.0 == 4 && $0.1 == 4..<7 } == true)
    }

    @Test func aTrickledHeadIsScannedFromWhereTheLastScanStopped() {
        let bytes = Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8)  // 27 bytes
        func scan(_ count: Int, resumeAt: Int = 0) -> RequestHeadScanner.Scan {
            Array(bytes.prefix(count)).withUnsafeBytes { RequestHeadScanner.scan($0, resumeAt: resumeAt) }
        }
        #expect(scan(20) == .needMore(resumeAt: 19))
        #expect(scan(26, resumeAt: 19) == .needMore(resumeAt: 25))
        if case .head(let h) = scan(27, resumeAt: 25) { #expect(h.end == 27) } else { Issue.record("not read") }
    }

    @Test func headsBeyondTheBoundsAreRefused() {
        let long = "GET / HTTP/1.1\r\nHost: x\r\nX: " + String(repeating: "a", count: ProxyLimits.maxHeadBytes)
        guard case .refused(let refusal, .headTooLarge) = Self.scan(long) else { Issue.record("not refused"); return }
        #expect(refusal.outcome == .badRequest)
        let many = "GET / HTTP/1.1\r\nHost: x\r\n" + String(repeating: "X: y\r\n", count: ProxyLimits.maxHeaderFields) + "\r\n"
        guard case .refused(_, .tooManyFields) = Self.scan(many) else { Issue.record("not refused"); return }
        let enough = "GET / HTTP/1.1\r\nHost: x\r\n" + String(repeating: "X: y\r\n", count: ProxyLimits.maxHeaderFields - 1) + "\r\n"
        #expect(Self.head(enough) != nil)
    }

    @Test func framingRefusalsKeepTheirStatus() {
        guard case .refused(let connect, nil) = Self.scan("CONNECT a:1 HTTP/1.1\r\nHost: a:1\r\n\r\n"),
              case .refused(let gzip, nil) = Self.scan("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"),
              case .refused(let trace, nil) = Self.scan("TRACE / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n")
        else { Issue.record("not refused"); return }
        #expect(connect.outcome == .methodNotAllowed && gzip.outcome == .unsupportedTransferCoding && trace.outcome == .methodNotAllowed)
    }
}
