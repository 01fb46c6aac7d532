import NIOCore

/// A client connection's bytes, read by read, turned into requests: a head, body parts, an end,
/// or a refusal. I/O-free; the byte relay's replacement for NIO's `HTTPRequestDecoder`.
///
/// Nothing is decoded into `String`s or `HTTPHeaders`: the head is found and checked by
/// `RequestHeadScanner` and handed on as its bytes (a slice of the read buffer when it came in
/// one read, the usual case), body parts are slices of the read buffers, so they can be written
/// to the agent as the client sent them. A chunked body keeps its chunk framing (checked by
/// `ChunkedBodyScanner`, RFC 9112 §7.1) and its data ranges come with each part, de-chunked, for
/// analysis and for `max_body_bytes`.
///
/// Pull-style (`next`): the caller takes one event at a time and may stop between two requests
/// (HTTP/1.1 pipelining, RFC 9112 §9.3.2: the next request waits, as bytes, until the previous
/// one is answered). A head split over reads is gathered in a buffer of its own, bounded by
/// `ProxyLimits.maxHeadBytes` (the scanner refuses a longer one).
public struct RequestStream {
    public enum Event {
        /// A request head: its bytes from the request-line to the empty line (empty lines before
        /// it, RFC 9112 §2.2, left out), and what the scanner read of them (offsets into those bytes).
        case head(ScannedRequestHead, ByteBuffer)
        /// Body bytes as the client sent them (a chunked body with its framing). `data`: the
        /// content among them when the body is chunked (nil: all of `part` is content).
        case body(ByteBuffer, data: [ByteBuffer]?)
        /// The request is complete (for a chunked body, after its last chunk and trailers).
        case end
        /// Refused: the head (its framing or grammar) or a chunk. Nothing more is read after it
        /// (RFC 9112 §6.1: the connection MUST close). `requestLine`: what the refused head's
        /// request-line says, when it got that far (framing refusals), for the answer and counts.
        case refused(RequestFraming.Refusal, HTTPSyntaxViolation?, requestLine: RequestLine?)
        /// Every byte given was used: call again with the next read.
        case needMore
    }

    /// A refused head's method, target and version, for the answer and the report's path.
    public struct RequestLine: Sendable, Equatable {
        public var method: String
        public var target: String
        public var http11: Bool
    }

    enum State {
        case head
        case body(remaining: Int)
        case chunked(ChunkedBodyScanner)
        /// The body ended (or there is none): the next event is `.end`.
        case ending
        case failed
    }

    private var state = State.head
    /// The start of a head that did not fit in one read, gathered until it is complete.
    private var partialHead: ByteBuffer?
    /// Where the scan of `partialHead` resumes.
    private var resumeAt = 0

    public init() {}

    /// True between a head and its end.
    public var isInsideRequest: Bool {
        switch state {
        case .body, .chunked, .ending: return true
        case .head, .failed: return false
        }
    }

    /// The next event from `input` (consumed as far as the event goes).
    public mutating func next(_ input: inout ByteBuffer) -> Event {
        switch state {
        case .failed:
            input.moveReaderIndex(to: input.writerIndex)
            return .needMore
        case .ending:
            state = .head
            return .end
        case .head:
            return nextHead(&input)
        case .body(let remaining):
            guard input.readableBytes > 0 else { return .needMore }
            let n = min(remaining, input.readableBytes)
            let part = input.readSlice(length: n)!
            state = n == remaining ? .ending : .body(remaining: remaining - n)
            return .body(part, data: nil)
        case .chunked(var scanner):
            guard input.readableBytes > 0 else { return .needMore }
            var ranges: [Range<Int>] = []
            let progress = input.withUnsafeReadableBytes { scanner.feed($0) { ranges.append($0) } }
            let used: Int
            switch progress {
            case .needMore:
                used = input.readableBytes
                state = .chunked(scanner)
            case .end(let at):
                used = at
                state = .ending
            case .invalid(let violation):
                state = .failed
                input.moveReaderIndex(to: input.writerIndex)
                return .refused(RequestFraming.Refusal(outcome: .badRequest, reason: violation.rawValue), violation, requestLine: nil)
            }
            let base = input.readerIndex
            let data = ranges.map { input.getSlice(at: base + $0.lowerBound, length: $0.count)! }
            return .body(input.readSlice(length: used)!, data: data)
        }
    }

    private mutating func nextHead(_ input: inout ByteBuffer) -> Event {
        let wasGathered = partialHead != nil
        if var gathered = partialHead {
            partialHead = nil
            gathered.writeBuffer(&input)
            input = gathered
        }
        guard input.readableBytes > 0 else { return .needMore }
        switch RequestHeadScanner.scan(input, resumeAt: resumeAt) {
        case .needMore(let resume):
            resumeAt = resume
            if wasGathered {
                // Kept as it is, and the caller's reference dropped, so the next read is appended
                // in place: a head trickled a byte per read costs its length, not its length squared.
                partialHead = input
                input = ByteBuffer()
            } else {
                // A buffer of its own: the read buffer is not pinned while a slow head trickles in.
                var gathered = ByteBufferAllocator().buffer(capacity: max(input.readableBytes * 2, 1024))
                gathered.writeBuffer(&input)
                partialHead = gathered
            }
            return .needMore
        case .refused(let refusal, let violation):
            state = .failed
            let line = violation == nil ? input.withUnsafeReadableBytes { Self.requestLine($0) } : nil
            input.moveReaderIndex(to: input.writerIndex)
            return .refused(refusal, violation, requestLine: line)
        case .head(var head):
            resumeAt = 0
            input.moveReaderIndex(forwardBy: head.start)
            let bytes = input.readSlice(length: head.length)!
            head.rebase(by: head.start)
            switch head.framing {
            case .none: state = .ending
            case .contentLength(let length): state = .body(remaining: length)
            case .chunked: state = .chunked(ChunkedBodyScanner())
            }
            return .head(head, bytes)
        }
    }

    /// The method, target and version of a request-line the scanner accepted before it refused
    /// the head's framing (`method SP target SP HTTP/1.x`, RFC 9112 §3).
    static func requestLine(_ bytes: UnsafeRawBufferPointer) -> RequestLine? {
        var start = 0
        while start + 1 < bytes.count, bytes[start] == HTTPHeadSyntax.cr, bytes[start + 1] == HTTPHeadSyntax.lf { start += 2 }
        guard let space = bytes[start...].firstIndex(of: HTTPHeadSyntax.sp),
              let second = bytes[(space + 1)...].firstIndex(of: HTTPHeadSyntax.sp), second + 9 <= bytes.count else { return nil }
        func text(_ r: Range<Int>) -> String { String(decoding: UnsafeRawBufferPointer(rebasing: bytes[r]), as: UTF8.self) }
        return RequestLine(method: text(start..<space), target: text((space + 1)..<second), http11: bytes[second + 8] == UInt8(ascii: "1"))
    }
}

extension ScannedRequestHead {
    /// The offsets moved `offset` bytes back (the head cut out of the bytes it was scanned in).
    mutating func rebase(by offset: Int) {
        guard offset != 0 else { return }
        start -= offset
        fieldsStart -= offset
        end -= offset
        method = (method.lowerBound - offset)..<(method.upperBound - offset)
        target = (target.lowerBound - offset)..<(target.upperBound - offset)
    }
}
