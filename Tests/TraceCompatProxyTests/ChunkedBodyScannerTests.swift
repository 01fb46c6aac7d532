import Testing
@testable import TraceCompatProxy

/// `ChunkedBodyScanner` fed whole and one byte at a time (a trickling client or agent): the same
/// data, the same end, the same refusals (RFC 9112 §7.1).
@Suite struct ChunkedBodyScannerTests {
    enum Outcome: Equatable {
        case end(data: [UInt8], rest: [UInt8])
        case needMore(data: [UInt8])
        case invalid(HTTPSyntaxViolation)
    }

    /// Feeds `input` in pieces of `piece` bytes.
    static func run(_ text: String, piece: Int = .max) -> Outcome {
        let input = Array(text.utf8)
        var scanner = ChunkedBodyScanner()
        var data: [UInt8] = []
        var offset = 0
        while offset < input.count {
            let slice = Array(input[offset..<min(input.count, offset + piece)])
            let progress = slice.withUnsafeBytes { bytes in scanner.feed(bytes) { data += slice[$0] } }
            switch progress {
            case .needMore: offset += slice.count
            case .end(let at): return .end(data: data, rest: Array(input[(offset + at)...]))
            case .invalid(let violation): return .invalid(violation)
            }
        }
        return .needMore(data: data)
    }

    static func both(_ text: String) -> Outcome {
        let whole = run(text), trickled = run(text, piece: 1)
        #expect(whole == trickled, "\(text.debugDescription): whole \(whole), one byte at a time \(trickled)")
        return whole
    }

    @Test func aChunkedBodyIsDeChunkedAndItsEndFound() {
        #expect(Self.both("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\nGET / HTTP/1.1") == .end(data: Array("hello world".utf8), rest: Array("GET / HTTP/1.1".utf8)))
        #expect(Self.both("0\r\n\r\n") == .end(data: [], rest: []))
        #expect(Self.both("A\r\n0123456789\r\n0\r\n\r\n") == .end(data: Array("0123456789".utf8), rest: []))
        #expect(Self.both("a\r\n0123456789\r\n0\r\n\r\n") == .end(data: Array("0123456789".utf8), rest: []))
        #expect(Self.both("5\r\nhel") == .needMore(data: Array("hel".utf8)))
    }

    @Test func extensionsAndTrailersFollowTheirGrammar() {
        #expect(Self.both("1;a\r\nx\r\n0\r\n\r\n") == .end(data: [0x78], rest: []))
        #expect(Self.both("1;a=b;c=\"d; \\\"e\"\r\nx\r\n0\r\n\r\n") == .end(data: [0x78], rest: []))
        // llhttp refuses BWS in the size line (RFC 9112 §7.1.1 allows it): so does the relay.
        #expect(Self.both("1 ;a\r\nx\r\n0\r\n\r\n") == .invalid(.chunkSize))
        #expect(Self.both("1; a\r\nx\r\n0\r\n\r\n") == .invalid(.chunkExtension))
        #expect(Self.both("1;a =b\r\nx\r\n0\r\n\r\n") == .invalid(.chunkExtension))
        #expect(Self.both("1 \r\nx\r\n0\r\n\r\n") == .invalid(.chunkSize))
        #expect(Self.both("1;\r\nx\r\n0\r\n\r\n") == .invalid(.chunkExtension))
        #expect(Self.both("1;a=\r\nx\r\n0\r\n\r\n") == .invalid(.chunkExtension))
        #expect(Self.both("1;a=\"b\r\nx\r\n0\r\n\r\n") == .invalid(.chunkExtension))
        #expect(Self.both("1\r\nx\r\n0\r\nX-T: v\r\nY: \r\n\r\nrest") == .end(data: [0x78], rest: Array("rest".utf8)))
        #expect(Self.both("1\r\nx\r\n0\r\nX-T: v\r\n folded\r\n\r\n") == .invalid(.trailer))
        #expect(Self.both("1\r\nx\r\n0\r\n: v\r\n\r\n") == .invalid(.trailer))
        #expect(Self.both("1\r\nx\r\n0\r\nX T: v\r\n\r\n") == .invalid(.trailer))
    }

    @Test func malformedFramingIsRefused() {
        #expect(Self.both("zz\r\nx\r\n0\r\n\r\n") == .invalid(.chunkSize))
        #expect(Self.both("\r\nx\r\n0\r\n\r\n") == .invalid(.chunkSize))
        #expect(Self.both("-1\r\nx\r\n0\r\n\r\n") == .invalid(.chunkSize))
        #expect(Self.both("0x1\r\nx\r\n0\r\n\r\n") == .invalid(.chunkSize))
        #expect(Self.both("ffffffffffffffffff1\r\nx\r\n") == .invalid(.chunkSizeOverflow))
        #expect(Self.both("8000000000000000\r\n") == .invalid(.chunkSizeOverflow))
        #expect(Self.both("7fffffffffffffff\r\nab") == .needMore(data: Array("ab".utf8)), "Int.max itself is a size")
        #expect(Self.both("1\r\nxy\r\n0\r\n\r\n") == .invalid(.chunkDataEnd))
        #expect(Self.both("1\nx\r\n0\r\n\r\n") == .invalid(.chunkSize))
        #expect(Self.both("1\r\rx\r\n0\r\n\r\n") == .invalid(.bareCR))
        #expect(Self.both("1\r\nx\r\n0\r\n\n") == .invalid(.trailer))
    }

    @Test func theSizeLineAndTheTrailersAreBounded() {
        let longExtension = "1;" + String(repeating: "a", count: ProxyLimits.maxChunkLineBytes) + "\r\nx\r\n0\r\n\r\n"
        #expect(Self.both(longExtension) == .invalid(.chunkLineTooLong))
        let zeros = String(repeating: "0", count: ProxyLimits.maxChunkLineBytes) + "1\r\nx\r\n0\r\n\r\n"
        #expect(Self.both(zeros) == .invalid(.chunkLineTooLong))
        let bigTrailer = "0\r\nX: " + String(repeating: "v", count: ProxyLimits.maxTrailerBytes) + "\r\n\r\n"
        #expect(Self.both(bigTrailer) == .invalid(.trailerTooLarge))
    }
}
