import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing
@testable import TraceCompatProxy

/// `RequestStream`: the client's bytes, read by read, into heads, body parts, ends and
/// refusals; checked by hand on the shapes that matter and against NIO's `HTTPRequestDecoder`
/// (llhttp, what the proxy used before the byte relay) on the same byte streams cut into reads.
@Suite struct RequestStreamTests {
    /// Everything `stream` makes of `input` fed in reads of `readSize` bytes, as lines.
    /// `relayed` gets every byte handed on (heads and body parts), in order.
    static func events(_ input: [UInt8], readSize: Int, relayed: inout [UInt8]) -> [String] {
        var stream = RequestStream()
        var out: [String] = []
        var data: [UInt8] = []
        var offset = 0
        while offset < input.count {
            var read = ByteBuffer(bytes: input[offset..<min(offset + readSize, input.count)])
            offset += readSize
            reading: while true {
                switch stream.next(&read) {
                case .needMore:
                    break reading
                case .head(let head, let bytes):
                    relayed += bytes.readableBytesView
                    out.append(bytes.withUnsafeReadableBytes { line(head, $0) })
                case .body(let part, let chunks):
                    relayed += part.readableBytesView
                    for piece in chunks ?? [part] { data += piece.readableBytesView }
                case .end:
                    out.append("body \(data.count) \(data.reduce(0) { $0 &* 31 &+ Int($1) })")
                    out.append("end")
                    data = []
                case .refused(let refusal, _, _):
                    out.append("refused \(refusal.outcome.rawValue)")
                    return out
                }
            }
        }
        return out
    }

    static func line(_ head: ScannedRequestHead, _ bytes: UnsafeRawBufferPointer) -> String {
        func text(_ r: Range<Int>) -> String { String(decoding: UnsafeRawBufferPointer(rebasing: bytes[r]), as: UTF8.self) }
        var fields: [String] = []
        head.forEachField(in: bytes) { fields.append("\(text($0)): \(text($1))") }
        return "head \(text(head.method)) \(text(head.target)) \(head.http11 ? "1.1" : "1.0") \(fields)"
    }

    /// What NIO's decoder (and `RequestFraming.decide` on its heads, as the proxy did) makes of
    /// the same reads, in the same lines.
    static func nioEvents(_ input: [UInt8], readSize: Int) -> [String] {
        let channel = EmbeddedChannel()
        defer { _ = try? channel.finish() }
        try! channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes)))
        var out: [String] = []
        var data: [UInt8] = []
        var offset = 0
        var failed = false
        func drain() -> Bool {
            while let part = try? channel.readInbound(as: HTTPServerRequestPart.self) {
                switch part {
                case .head(let head):
                    if case .failure(let refusal) = RequestFraming.decide(method: head.method, version: head.version, headers: head.headers) {
                        out.append("refused \(refusal.outcome.rawValue)")
                        return false
                    }
                    func trimmed(_ value: String) -> Substring {
                        var v = value[...]
                        while let last = v.last, last == " " || last == "\t" { v = v.dropLast() }
                        return v
                    }
                    out.append("head \(head.method.rawValue) \(head.uri) \(head.version == .http1_1 ? "1.1" : "1.0") \(head.headers.map { "\($0.name): \(trimmed($0.value))" })")
                case .body(let body):
                    data += body.readableBytesView
                case .end:
                    out.append("body \(data.count) \(data.reduce(0) { $0 &* 31 &+ Int($1) })")
                    out.append("end")
                    data = []
                }
            }
            return true
        }
        while offset < input.count, !failed {
            do {
                try channel.writeInbound(ByteBuffer(bytes: input[offset..<min(offset + readSize, input.count)]))
            } catch {
                failed = true
            }
            offset += readSize
            if !drain() { return out }
        }
        if failed { out.append("refused bad_request") }
        return out
    }

    static let next = Array("GET /info HTTP/1.1\r\nHost: x\r\n\r\n".utf8)

    // MARK: differential

    @Test func theStreamReadsByteStreamsAsNIOsDecoderDoesInAnyReadSizes() throws {
        let stricter = HeadScannerDifferentialTests.stricterByName
        var compared = 0
        for (name, first) in try HeadScannerDifferentialTests.corpus() {
            // A second request pipelined behind the first: the stream must find where one ends.
            let input = first + Self.next
            // Byte by byte only for the small inputs (NIO's decoder fed a 200 KB body one byte
            // at a time takes a minute).
            for readSize in (input.count <= 8192 ? [1, 7] : []) + [100, 4096, input.count] {
                var relayed: [UInt8] = []
                var mine = Self.events(input, readSize: readSize, relayed: &relayed)
                var nio = Self.nioEvents(input, readSize: readSize)
                // After a request that closes the connection, llhttp refuses what follows; the
                // proxy closes after its answer and never reads it.
                if let end = mine.firstIndex(of: "end"), !Self.keepsAlive(first) {
                    mine = Array(mine[...end])
                    nio = Array(nio.prefix(end + 1))
                }
                compared += 1
                if mine != nio {
                    // Both refuse, with another status (llhttp's parser error is a 400 where the
                    // scanner reads a transfer coding it answers 501 for, RFC 9112 §6.1).
                    let bothRefuse = mine.last?.hasPrefix("refused") == true && nio.last?.hasPrefix("refused") == true
                        && mine.dropLast() == nio.dropLast()
                    // llhttp stops reading after a request with `Upgrade` (NIO then dropped the rest);
                    // the proxy removes the header (hop-by-hop) and reads the next request.
                    let afterUpgrade = name == "Upgrade" && Array(mine.prefix(nio.count)) == nio
                    let allowed = bothRefuse || afterUpgrade || (stricter[name] != nil && mine.last?.hasPrefix("refused bad_request") == true)
                    #expect(allowed, "\(name) in reads of \(readSize): stream \(mine) vs NIO \(nio)")
                }
                if mine.last?.hasPrefix("refused") != true {
                    // Every byte is handed on, in order (but the empty lines before a request-line).
                    #expect(relayed == Self.withoutLeadingEmptyLines(input), "\(name) in reads of \(readSize)")
                }
            }
        }
        #expect(compared > 400)
    }

    static func keepsAlive(_ input: [UInt8]) -> Bool {
        input.withUnsafeBytes { bytes in
            if case .head(let head) = RequestHeadScanner.scan(bytes) { return head.flags.contains(.keepAlive) }
            return true
        }
    }

    static func withoutLeadingEmptyLines(_ input: [UInt8]) -> [UInt8] {
        var rest = input[...]
        while rest.starts(with: [0x0D, 0x0A]) { rest = rest.dropFirst(2) }
        return Array(rest)
    }

    // MARK: by hand

    @Test func aHeadInOneReadIsASliceOfThatReadNotACopy() {
        var read = ByteBuffer(string: "POST /v0.4/traces HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n\u{92}\u{90}")
        let base = read.withUnsafeReadableBytes { $0.baseAddress! }
        var stream = RequestStream()
        guard case .head(let head, let bytes) = stream.next(&read) else { Issue.record("no head"); return }
        #expect(bytes.withUnsafeReadableBytes { $0.baseAddress! } == base)
        #expect(bytes.readableBytes == head.length)
        #expect(head.framing == .contentLength(3))
        guard case .body(let body, let data) = stream.next(&read) else { Issue.record("no body"); return }
        #expect(body.readableBytesView.elementsEqual([0xC2, 0x92, 0xC2]), "the declared 3 bytes, no more")
        #expect(data == nil)
        #expect(body.withUnsafeReadableBytes { $0.baseAddress! } == base + head.length)
    }

    @Test func aChunkedBodyIsRelayedWithItsFramingAndReadDeChunked() {
        let text = "POST /v0.4/traces HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;x=\"y\"\r\nabc\r\n2\r\nde\r\n0\r\nT: 1\r\n\r\n"
        var read = ByteBuffer(string: text + "GET /info HTTP/1.1\r\nHost: x\r\n\r\n")
        var stream = RequestStream()
        guard case .head(let head, _) = stream.next(&read) else { Issue.record("no head"); return }
        #expect(head.framing == .chunked)
        guard case .body(let body, let data?) = stream.next(&read) else { Issue.record("no body"); return }
        #expect(String(buffer: body) == "3;x=\"y\"\r\nabc\r\n2\r\nde\r\n0\r\nT: 1\r\n\r\n")
        #expect(data.map { String(buffer: $0) } == ["abc", "de"])
        guard case .end = stream.next(&read) else { Issue.record("no end"); return }
        guard case .head(let second, let bytes) = stream.next(&read) else { Issue.record("no second head"); return }
        #expect(String(buffer: bytes) == "GET /info HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(second.framing == .none)
        guard case .end = stream.next(&read) else { Issue.record("no second end"); return }
        guard case .needMore = stream.next(&read) else { Issue.record("bytes left"); return }
    }

    @Test func refusalsNameTheirRuleAndAFramingRefusalItsRequestLine() {
        func refusal(_ text: String) -> (ProxyOutcome, HTTPSyntaxViolation?, RequestStream.RequestLine?)? {
            var read = ByteBuffer(string: text)
            var stream = RequestStream()
            while true {
                switch stream.next(&read) {
                case .refused(let refusal, let violation, let line): return (refusal.outcome, violation, line)
                case .needMore: return nil
                default: continue
                }
            }
        }
        let connect = refusal("CONNECT agent:8126 HTTP/1.1\r\nHost: agent\r\n\r\n")
        #expect(connect?.0 == .methodNotAllowed)
        #expect(connect?.2 == RequestStream.RequestLine(method: "CONNECT", target: "agent:8126", http11: true))
        let both = refusal("POST /v0.4/traces HTTP/1.0\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n")
        #expect(both?.0 == .badRequest)
        #expect(both?.1 == nil)
        #expect(both?.2 == RequestStream.RequestLine(method: "POST", target: "/v0.4/traces", http11: false))
        let folded = refusal("GET /info HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n")
        #expect(folded?.0 == .badRequest)
        #expect(folded?.1 == .obsFold)
        #expect(folded?.2 == nil)
        let chunk = refusal("POST /v0.4/traces HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
        #expect(chunk?.1 == .chunkSize)
        #expect(refusal("GET /info HTTP/1.1\r\nHost: x\r\n") == nil, "incomplete, not refused")
    }

    /// A head just under the bound, one byte per read: read whole, then its body.
    @Test func aHeadTrickledOneByteAtATimeIsGatheredInPlace() {
        let head = "POST /v0.4/traces HTTP/1.1\r\nHost: x\r\nX-Pad: " + String(repeating: "a", count: ProxyLimits.maxHeadBytes - 200)
            + "\r\nContent-Length: 1\r\n\r\n"
        var stream = RequestStream()
        var heads: [Int] = []
        var body: [UInt8] = []
        for byte in Array(head.utf8) + [0x90] {
            var read = ByteBuffer(bytes: [byte])
            reading: while true {
                switch stream.next(&read) {
                case .head(let scanned, let bytes): heads.append(bytes.readableBytes); #expect(scanned.framing == .contentLength(1))
                case .body(let part, _): body += part.readableBytesView
                case .needMore, .end: break reading
                case .refused(let refusal, _, _): Issue.record("refused: \(refusal.reason)"); return
                }
            }
        }
        #expect(heads == [head.utf8.count])
        #expect(body == [0x90])
    }

    @Test func aHeadLargerThanTheBoundIsRefusedWhateverTheReads() {
        var stream = RequestStream()
        var refused: HTTPSyntaxViolation?
        var read = ByteBuffer(string: "GET /info HTTP/1.1\r\nHost: x\r\n")
        _ = stream.next(&read)
        let line = ByteBuffer(string: "X-Pad: " + String(repeating: "a", count: 1000) + "\r\n")
        for _ in 0..<(ProxyLimits.maxHeadBytes / line.readableBytes + 2) {
            var more = line
            if case .refused(_, let violation, _) = stream.next(&more) { refused = violation; break }
        }
        #expect(refused == .headTooLarge)
    }
}
