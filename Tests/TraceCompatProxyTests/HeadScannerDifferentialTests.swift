import NIOCore
import NIOEmbedded
import NIOHTTP1
import SeededRandom
import Testing
@testable import TraceCompatProxy

/// The byte relay's scanners against what they replace: NIO's llhttp-based `HTTPRequestDecoder`
/// (in an `EmbeddedChannel`) followed by `RequestFraming.decide`, on the same bytes. Inputs: every
/// hostile-client shape, every fixture's request head (with its body), hand-written edge cases
/// and thousands of seeded mutations of them.
///
/// - whatever NIO refuses, the scanner refuses;
/// - a head NIO reads and `RequestFraming` refuses, the scanner refuses with the same status;
/// - a head both accept has the same method, target, version, fields (in order) and framing,
///   and a chunked body the same data bytes;
/// - where the scanner alone refuses, its rule is one of `stricterThanLLHTTP`, each with the RFC
///   sentence that makes the refusal right.
@Suite struct HeadScannerDifferentialTests {
    /// The rules on which the scanner refuses heads llhttp (as NIO configures it) lets through.
    static let stricterThanLLHTTP: [HTTPSyntaxViolation: String] = [
        .fieldValueByte: "RFC 9110 §5.5: field values are VCHAR, obs-text, SP and HTAB; llhttp lets other controls through, nginx refuses them",
        .targetForm: "RFC 9112 §3.2: a request-target is origin-form, absolute-form, authority-form (CONNECT) or asterisk-form (OPTIONS)",
        .targetByte: "RFC 9112 §3.2, RFC 3986 §2: no control byte in a request-target",
        .chunkExtension: "RFC 9112 §7.1.1: chunk-ext = *( BWS \";\" BWS token [ BWS \"=\" BWS ( token / quoted-string ) ] )",
        .trailer: "RFC 9112 §7.1.2 and §5: trailer fields follow the field grammar",
        .version: "RFC 9112 §2.3: the proxy speaks HTTP/1.0 and HTTP/1.1 only (the agent's receiver too)",
        .bareCR: "RFC 9112 §2.2: a bare CR MUST be refused or replaced by SP; the relay forwards bytes, so it refuses",
        .obsFold: "RFC 9112 §5.2: a server MUST reject obs-fold or replace it (the relay cannot replace)",
        .whitespaceBeforeColon: "RFC 9112 §5.1: a server MUST reject whitespace between field name and colon",
        .fieldNameNotToken: "RFC 9110 §5.1: a field name is a token",
        .emptyFieldName: "RFC 9110 §5.1: a field name is a token (one byte at least)",
        .methodNotToken: "RFC 9112 §3: method SP request-target",
        .chunkSizeOverflow: "RFC 9112 §7.1: a recipient MUST anticipate sizes beyond its integers and refuse them; llhttp reads 64 unsigned bits, the proxy's sizes are Int (and max_body_bytes is 25 MiB)",
        .chunkSize: "RFC 9112 §7.1: chunk-size = 1*HEXDIG",
        .chunkDataEnd: "RFC 9112 §7.1: chunk-data CRLF",
        .bareLF: "RFC 9112 §2.2: the relay accepts only CRLF line ends (the agent's Go parser would read a lone LF as one: two readings)",
    ]

    /// The corpus inputs on which the scanner alone refuses, by name, with the rule it applies.
    static let stricterByName: [String: HTTPSyntaxViolation] = [
        // RFC 9112 §3: "method SP request-target": llhttp skips extra spaces, the agent's Go
        // parser splits at the first one (a target starting with a space): two readings.
        "two spaces after the method": .targetByte,
        // RFC 9112 §3.2.4: asterisk-form is only for a server-wide OPTIONS.
        "M-SEARCH": .targetForm,
        // RFC 9112 §7.1: a size the recipient's integers cannot hold is refused (llhttp: 64 unsigned bits).
        "chunk size 2^63": .chunkSizeOverflow,
    ]

    /// What one side read of an input.
    enum Reading: Equatable, CustomStringConvertible {
        case head(method: String, target: String, http11: Bool, fields: [String], framing: RequestFraming, body: [UInt8]?)
        /// The head was read and then refused (`RequestFraming`'s status), or the bytes refused.
        case refused(ProxyOutcome?, HTTPSyntaxViolation?)
        case incomplete

        var description: String {
            switch self {
            case .head(let m, let t, let v, let f, let fr, let b): return "head \(m) \(t) \(v ? "1.1" : "1.0") \(f) \(fr) body=\(b.map { "\($0.count)" } ?? "-")"
            case .refused(let o, let v): return "refused \(o.map(\.rawValue) ?? "nio") \(v.map { "\($0)" } ?? "")"
            case .incomplete: return "incomplete"
            }
        }
    }

    // MARK: the two readers

    static func nio(_ input: [UInt8]) -> Reading {
        let channel = EmbeddedChannel()
        defer { _ = try? channel.finish() }
        var failed = false
        do {
            try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes)))
            try channel.writeInbound(ByteBuffer(bytes: input))
        } catch {
            failed = true
        }
        var head: HTTPRequestHead?
        var body: [UInt8] = []
        var ended = false
        while let part = try? channel.readInbound(as: HTTPServerRequestPart.self) {
            switch part {
            case .head(let h): if head == nil { head = h }
            case .body(let b): if !ended { body += b.readableBytesView }
            case .end: ended = true
            }
            if ended { break }
        }
        guard let head else { return failed ? .refused(nil, nil) : .incomplete }
        // A failure after the first message belongs to the bytes after it (a next request): the
        // scanner reads one message. A failure inside a chunked body refuses the message.
        let chunked = head.headers["transfer-encoding"].contains { $0.lowercased().contains("chunked") }
        if failed, chunked, !ended { return .refused(nil, nil) }
        switch RequestFraming.decide(method: head.method, version: head.version, headers: head.headers) {
        case .failure(let refusal):
            return .refused(refusal.outcome, nil)
        case .success(let framing):
            // llhttp leaves the whitespace after a value in it; RFC 9112 §5.1 excludes it from the
            // field value (the relay forwards the bytes either way).
            func trimmed(_ value: String) -> Substring {
                var v = value[...]
                while let last = v.last, last == " " || last == "\t" { v = v.dropLast() }
                return v
            }
            return .head(method: head.method.rawValue, target: head.uri, http11: head.version == .http1_1,
                         fields: head.headers.map { "\($0.name): \(trimmed($0.value))" }, framing: framing,
                         body: framing == .chunked ? (ended ? body : nil) : nil)
        }
    }

    static func scanner(_ input: [UInt8]) -> Reading {
        input.withUnsafeBytes { bytes in
            switch RequestHeadScanner.scan(bytes) {
            case .needMore:
                return .incomplete
            case .refused(let refusal, let violation):
                return .refused(refusal.outcome, violation)
            case .head(let head):
                func text(_ r: Range<Int>) -> String { String(decoding: UnsafeRawBufferPointer(rebasing: bytes[r]), as: UTF8.self) }
                var fields: [String] = []
                head.forEachField(in: bytes) { fields.append("\(text($0)): \(text($1))") }
                var body: [UInt8]?
                if head.framing == .chunked {
                    var chunked = ChunkedBodyScanner()
                    var data: [UInt8] = []
                    let rest = UnsafeRawBufferPointer(rebasing: bytes[head.end...])
                    switch chunked.feed(rest, data: { data += rest[$0] }) {
                    case .end: body = data
                    case .needMore: body = nil
                    case .invalid(let violation): return .refused(.badRequest, violation)
                    }
                }
                return .head(method: text(head.method), target: text(head.target), http11: head.http11, fields: fields,
                             framing: head.framing, body: body)
            }
        }
    }

    // MARK: inputs

    static func bytes(_ text: String) -> [UInt8] { text.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) } }

    static func corpus() throws -> [(String, [UInt8])] {
        var inputs = SocketSuites.HostileClientTests.shapes.map { ($0.name, bytes($0.bytes)) }
        for scenario in Fixtures.scenarios {
            for request in try Fixtures.requests(scenario) {
                var head = "\(request.method) \(request.path) HTTP/1.1\r\n"
                for (name, value) in request.headers { head += "\(name): \(value)\r\n" }
                head += "\r\n"
                inputs.append(("\(scenario)/\(request.name)", Array(head.utf8) + request.body))
                // The same body chunked, as a tracer that streams would send it.
                if !request.body.isEmpty {
                    var chunked = "\(request.method) \(request.path) HTTP/1.1\r\n"
                    for (name, value) in request.headers where name != "content-length" { chunked += "\(name): \(value)\r\n" }
                    chunked += "Transfer-Encoding: chunked\r\n\r\n"
                    var body = Array(chunked.utf8)
                    var rest = request.body[...]
                    while !rest.isEmpty {
                        let piece = rest.prefix(1000)
                        body += Array("\(String(piece.count, radix: 16))\r\n".utf8) + piece + Array("\r\n".utf8)
                        rest = rest.dropFirst(piece.count)
                    }
                    body += Array("0\r\n\r\n".utf8)
                    inputs.append(("\(scenario)/\(request.name) chunked", body))
                }
            }
        }
        inputs += handWritten.map { ($0.0, bytes($0.1)) }
        return inputs
    }

    /// Edge cases written out, each with what is expected of it (the differential decides).
    static let handWritten: [(String, String)] = [
        ("empty lines before the request-line", "\r\n\r\nGET /info HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("unknown method", "FOO /info HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("lower-case method", "get /info HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("QUERY", "QUERY /info HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("M-SEARCH", "M-SEARCH * HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("absolute-form", "POST http://agent:8126/v0.4/traces HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n\u{90}"),
        ("HTTP/2.0", "GET /info HTTP/2.0\r\nHost: x\r\n\r\n"),
        ("HTTP/1.2", "GET /info HTTP/1.2\r\nHost: x\r\n\r\n"),
        ("HTTP/0.9", "GET /info HTTP/0.9\r\nHost: x\r\n\r\n"),
        ("lower-case version", "GET /info http/1.1\r\nHost: x\r\n\r\n"),
        ("two spaces after the method", "GET  /info HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("tab in the target", "GET /in\tfo HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("NUL in the target", "GET /in\u{0}fo HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("DEL in the target", "GET /in\u{7F}fo HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("obs-text in the target", "GET /in\u{E9}fo HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("bare LF line ends", "GET /info HTTP/1.1\nHost: x\n\n"),
        ("bare LF after a field", "GET /info HTTP/1.1\r\nHost: x\nX: y\r\n\r\n"),
        ("bare CR in a value", "GET /info HTTP/1.1\r\nHost: x\rX: y\r\n\r\n"),
        ("space before colon", "GET /info HTTP/1.1\r\nHost : x\r\n\r\n"),
        ("tab before colon", "GET /info HTTP/1.1\r\nHost\t: x\r\n\r\n"),
        ("empty field name", "GET /info HTTP/1.1\r\nHost: x\r\n: y\r\n\r\n"),
        ("field name with a slash", "GET /info HTTP/1.1\r\nHost: x\r\nX/Y: y\r\n\r\n"),
        ("NUL in a value", "GET /info HTTP/1.1\r\nHost: x\r\nX: a\u{0}b\r\n\r\n"),
        ("BEL in a value", "GET /info HTTP/1.1\r\nHost: x\r\nX: a\u{7}b\r\n\r\n"),
        ("DEL in a value", "GET /info HTTP/1.1\r\nHost: x\r\nX: a\u{7F}b\r\n\r\n"),
        ("obs-text in a value", "GET /info HTTP/1.1\r\nHost: x\r\nX: caf\u{E9}\r\n\r\n"),
        ("tab inside a value", "GET /info HTTP/1.1\r\nHost: x\r\nX: a\tb\r\n\r\n"),
        ("empty value", "GET /info HTTP/1.1\r\nHost: x\r\nX:\r\n\r\n"),
        ("whitespace around a value", "GET /info HTTP/1.1\r\nHost: x\r\nX: \t a b \t\r\n\r\n"),
        ("obs-fold on the first field", "GET /info HTTP/1.1\r\n Host: x\r\n\r\n"),
        ("Content-Length with OWS", "POST /v0.4/traces HTTP/1.1\r\nHost: x\r\nContent-Length:  1 \r\n\r\n\u{90}"),
        ("Content-Length 0", "POST /v0.4/traces HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"),
        ("Content-Length 19 digits", "POST /v0.4/traces HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000000000000\r\n\r\n"),
        ("Content-Length empty", "POST /v0.4/traces HTTP/1.1\r\nHost: x\r\nContent-Length: \r\n\r\n"),
        ("Transfer-Encoding empty", "POST /v0.4/traces HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \r\n\r\n"),
        ("chunked, chunked", "POST /v0.4/traces HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n"),
        ("Chunked in capitals", "POST /v0.4/traces HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: CHUNKED\r\n\r\n1\r\n\u{90}\r\n0\r\n\r\n"),
        ("chunk extension", "POST /v0.4/traces HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1;a=b\r\n\u{90}\r\n0\r\n\r\n"),
        ("chunk extension quoted", "POST /v0.4/traces HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1 ; a = \"b;c\"\r\n\u{90}\r\n0\r\n\r\n"),
        ("chunk extension, space before ;", "POST /v0.4/traces HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1 ;a=b\r\n\u{90}\r\n0\r\n\r\n"),
        ("chunk extension, space after ;", "POST /v0.4/traces HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1; a=b\r\n\u{90}\r\n0\r\n\r\n"),
        ("chunk extension, space before =", "POST /v0.4/traces HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1;a =b\r\n\u{90}\r\n0\r\n\r\n"),
        ("chunk extension, space after =", "POST /v0.4/traces HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1;a= b\r\n\u{90}\r\n0\r\n\r\n"),
        ("chunk extension, quoted with ;", "POST /v0.4/traces HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1;a=\"b;c\"\r\n\u{90}\r\n0\r\n\r\n"),
        ("chunk extension, quoted", "POST /v0.4/traces HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1;a=\"b\"\r\n\u{90}\r\n0\r\n\r\n"),
        ("chunk extension, quoted pair", "POST /v0.4/traces HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1;a=\"b\\\"c\"\r\n\u{90}\r\n0\r\n\r\n"),
        ("chunk extension, two names", "POST /v0.4/traces HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1;a;b\r\n\u{90}\r\n0\r\n\r\n"),
        ("chunk size, space after", "POST /v0.4/traces HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1 \r\n\u{90}\r\n0\r\n\r\n"),
        ("chunk extension without name", "POST /v0.4/traces HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1;\r\n\u{90}\r\n0\r\n\r\n"),
        ("chunk size with leading zeros", "POST /v0.4/traces HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n00001\r\n\u{90}\r\n0\r\n\r\n"),
        ("chunk size upper-case hex", "POST /v0.4/traces HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n"),
        ("chunk size 2^63", "POST /v0.4/traces HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n8000000000000000\r\nx\r\n0\r\n\r\n"),
        ("chunk without CRLF after data", "POST /v0.4/traces HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n\u{90}0\r\n\r\n"),
        ("trailer", "POST /v0.4/traces HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n\u{90}\r\n0\r\nX-Trailer: t\r\n\r\n"),
        ("trailer obs-fold", "POST /v0.4/traces HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n\u{90}\r\n0\r\nX: t\r\n u\r\n\r\n"),
        ("Expect 100-continue", "POST /v0.4/traces HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n\u{90}"),
        ("Connection close and keep-alive", "GET /info HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, close\r\n\r\n"),
        ("Upgrade", "GET /info HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n"),
        ("HTTP/1.0 without Host", "GET /info HTTP/1.0\r\n\r\n"),
        ("HTTP/1.0 keep-alive", "GET /info HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"),
        ("a head of 81 KiB", "GET /info HTTP/1.1\r\nHost: x\r\nX: \(String(repeating: "a", count: 81 * 1024))\r\n\r\n"),
    ]

    static let interesting: [UInt8] = Array("\r\n \t:;,\"=0aA\\/*-".utf8) + [0x00, 0x01, 0x0B, 0x7F, 0x80, 0xE9, 0xFF]

    static func mutate(_ input: [UInt8], using rng: inout SplitMix64) -> [UInt8] {
        var bytes = input
        // Mostly within the head (and the first chunk lines), where framing is decided.
        let span = min(bytes.count, (bytes.firstRange(of: Array("\r\n\r\n".utf8))?.upperBound ?? bytes.count) + 24)
        for _ in 0..<Int.random(in: 1...3, using: &rng) {
            guard span > 0 else { break }
            let at = Int.random(in: 0..<min(span, bytes.count), using: &rng)
            let byte = Bool.random(using: &rng) ? interesting.randomElement(using: &rng)! : UInt8.random(in: 0...255, using: &rng)
            switch Int.random(in: 0..<5, using: &rng) {
            case 0: bytes[at] = byte
            case 1: bytes.insert(byte, at: at)
            case 2: bytes.remove(at: at)
            case 3:  // a line duplicated
                if let lineEnd = bytes[at...].firstRange(of: Array("\r\n".utf8)) {
                    let lineStart = (bytes[..<at].lastIndex(of: 0x0A)).map { $0 + 1 } ?? 0
                    bytes.insert(contentsOf: bytes[lineStart..<lineEnd.upperBound], at: lineStart)
                }
            default:  // a letter's case flipped
                if (bytes[at] | 0x20) >= 0x61 && (bytes[at] | 0x20) <= 0x7A { bytes[at] ^= 0x20 }
            }
        }
        return bytes
    }

    // MARK: the comparison

    /// The scanner's reading; when llhttp refused bytes that do not yet end a head, the scanner's
    /// reading of the same bytes with the head ended (CRLF CRLF appended): it must refuse then.
    static func completedScan(_ input: [UInt8], nio: Reading) -> Reading {
        let reading = scanner(input)
        if case .refused(nil, _) = nio, reading == .incomplete { return scanner(input + Array("\r\n\r\n".utf8)) }
        return reading
    }

    /// Why `scanner` may differ from `nio` on `input`, or nil when they agree (as the rules say).
    static func disagreement(_ nio: Reading, _ scanner: Reading) -> String? {
        switch (nio, scanner) {
        case (.refused(nil, _), .refused):
            return nil  // llhttp refused, so does the scanner (its status may be 405/501 where llhttp's was 400)
        case (.refused(let a?, _), .refused(let b, _)):
            return a == b ? nil : "statuses differ"
        case (.incomplete, .incomplete):
            return nil
        case (.head(let m, let t, let v, let f, let fr, let nb), .head(let m2, let t2, let v2, let f2, let fr2, let sb)):
            if m != m2 || t != t2 || v != v2 || f != f2 || fr != fr2 { return "different heads" }
            if let nb, let sb, nb != sb { return "different chunked bodies" }
            if nb != nil, sb == nil { return "NIO ended the chunked body, the scanner did not" }
            return nil
        case (.head, .refused(_, let violation?)), (.incomplete, .refused(_, let violation?)):
            return stricterThanLLHTTP[violation] == nil ? "stricter without a listed rule (\(violation))" : nil
        default:
            return "NIO read it, the scanner did not refuse it with a rule"
        }
    }

    @Test func theScannerReadsEveryCorpusInputAsNIODoesOrRefusesItByARule() throws {
        var mismatches: [String] = []
        var stricter: [String: HTTPSyntaxViolation] = [:]
        for (name, input) in try Self.corpus() {
            let nio = Self.nio(input), scanner = Self.completedScan(input, nio: nio)
            if let why = Self.disagreement(nio, scanner) {
                mismatches.append("\(name): \(why)\n  nio:     \(nio)\n  scanner: \(scanner)")
            }
            switch (nio, scanner) {
            case (.head, .refused(_, let violation?)), (.incomplete, .refused(_, let violation?)): stricter[name] = violation
            default: break
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n"))")
        #expect(stricter == Self.stricterByName, "\(stricter.sorted { $0.key < $1.key }.map { "(\"\($0.key)\", .\($0.value))" })")
        // Every fixture head is read alike (not merely refused alike).
        for scenario in Fixtures.scenarios {
            for request in try Fixtures.requests(scenario) {
                var head = "\(request.method) \(request.path) HTTP/1.1\r\n"
                for (name, value) in request.headers { head += "\(name): \(value)\r\n" }
                let input = Array((head + "\r\n").utf8) + request.body
                let reading = Self.scanner(input)
                guard case .head = reading else { Issue.record("\(scenario)/\(request.name): \(reading)"); continue }
                #expect(reading == Self.nio(input), "\(scenario)/\(request.name)")
            }
        }
    }

    @Test func seededMutationsAreReadAsNIODoesOrRefusedByARule() throws {
        var rng = SplitMix64(seed: 15)
        let corpus = try Self.corpus()
        var mismatches: [String] = []
        var stricter: [HTTPSyntaxViolation: Int] = [:]
        var bothAccepted = 0, bothRefused = 0
        for round in 0..<4000 {
            let (name, base) = corpus[round % corpus.count]
            let input = Self.mutate(base, using: &rng)
            let nio = Self.nio(input), scanner = Self.completedScan(input, nio: nio)
            if let why = Self.disagreement(nio, scanner) {
                mismatches.append("mutation \(round) of \(name): \(why)\n  input: \(String(decoding: input.prefix(300), as: UTF8.self).debugDescription)\n  nio:     \(nio)\n  scanner: \(scanner)")
            }
            switch (nio, scanner) {
            case (.head, .head): bothAccepted += 1
            case (.refused, .refused): bothRefused += 1
            case (_, .refused(_, let v?)): stricter[v, default: 0] += 1
            default: break
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(20).joined(separator: "\n"))")
        // The mutations exercise both sides of the rules (not a corpus that only refuses).
        #expect(bothAccepted > 0 && bothRefused > 0, "accepted by both \(bothAccepted), refused by both \(bothRefused), stricter \(stricter)")
        print("HeadScannerDifferential: 4000 mutations, both read \(bothAccepted), both refused \(bothRefused), scanner stricter \(stricter.sorted { $0.value > $1.value }.map { "\($0.key)=\($0.value)" })")
    }

    /// The analysis thread's walk (`forEachAcceptedField`, no syntax checks) gives the checking
    /// walk's name and value ranges on every head the scan accepts: the corpus and 4,000 seeded
    /// mutations of it (whose accepted heads have odd whitespace, empty values, obs-text).
    @Test func theAcceptedFieldWalkReadsWhatTheCheckingWalkReads() throws {
        var rng = SplitMix64(seed: 16)
        let corpus = try Self.corpus()
        var inputs = corpus.map(\.1)
        for round in 0..<4000 { inputs.append(Self.mutate(corpus[round % corpus.count].1, using: &rng)) }
        var accepted = 0, fields = 0
        for input in inputs {
            input.withUnsafeBytes { bytes in
                guard case .head(let head) = RequestHeadScanner.scan(bytes) else { return }
                var checked: [Range<Int>] = [], fast: [Range<Int>] = []
                head.forEachField(in: bytes) { checked += [$0, $1] }
                head.forEachAcceptedField(in: bytes) { fast += [$0, $1] }
                #expect(fast == checked, "\(String(decoding: input.prefix(300), as: UTF8.self).debugDescription)")
                accepted += 1
                fields += checked.count / 2
            }
        }
        #expect(accepted > 100 && fields > 1000, "accepted \(accepted), fields \(fields)")
    }
}
