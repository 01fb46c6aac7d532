import NIOCore

/// The agent's answer as bytes to relay, read by read, without I/O: where its head ends
/// (`ResponseHeadScanner`), which bytes are its body and where that ends (Content-Length,
/// `ChunkedBodyScanner`, or the close), and whether the connection may carry another request
/// (RFC 9112 §6.3, §9.3). The bytes handed on are slices of the buffers read: nothing is decoded
/// into `HTTPResponseHead`/`HTTPHeaders` or encoded again. Interim 1xx heads are dropped (the
/// proxy answers `100 Continue` itself, as NIO's decoder dropped them before).
struct AnswerRelay {
    enum Event {
        /// The final answer's head: what was read of it, and its bytes as the agent sent them.
        case head(ScannedResponseHead, ByteBuffer)
        /// Body bytes as the agent sent them (chunk framing included).
        case body(ByteBuffer)
        /// The data of a chunked body, de-chunked (only when asked for: the `/info` tee, an
        /// HTTP/1.0 client).
        case data(ByteBuffer)
        /// The answer is over; `reusable` when the connection may carry another request.
        case end(reusable: Bool)
        /// The answer cannot be read one way: the connection must be dropped.
        case invalid(HTTPSyntaxViolation)
    }

    enum State {
        /// No exchange expects an answer: any byte from the agent now is a fault.
        case idle
        case head(resumeAt: Int)
        case contentLength(remaining: Int)
        case chunked(ChunkedBodyScanner)
        case untilClose
        case failed
    }

    private(set) var state = State.idle
    /// A head split over reads, gathered (rare: the agent writes its head in one piece).
    private var pendingHead: ByteBuffer?
    private var answersHead = false
    private var collectsData = false
    private var reusable = true

    /// An exchange sent its request on this connection and waits for the answer.
    mutating func expectAnswer(answersHead: Bool, collectsData: Bool) {
        state = .head(resumeAt: 0)
        pendingHead = nil
        self.answersHead = answersHead
        self.collectsData = collectsData
    }

    /// The next bytes read from the agent.
    mutating func read(_ buffer: ByteBuffer, _ emit: (Event) -> Void) {
        var buffer = buffer
        while buffer.readableBytes > 0 {
            switch state {
            case .idle:
                // Bytes nobody asked for: the connection cannot be trusted.
                state = .failed
                return emit(.invalid(.statusLine))
            case .failed:
                return  // reported once; the connection is being closed
            case .head(let resumeAt):
                if var pending = pendingHead {
                    pending.writeImmutableBuffer(buffer)
                    buffer = pending
                    pendingHead = nil
                }
                switch ResponseHeadScanner.scan(buffer, resumeAt: resumeAt, answersHead: answersHead) {
                case .needMore(let resume):
                    guard buffer.readableBytes < ProxyLimits.maxHeadBytes else {
                        state = .failed
                        return emit(.invalid(.headTooLarge))
                    }
                    pendingHead = buffer
                    state = .head(resumeAt: resume)
                    return
                case .invalid(let violation):
                    state = .failed
                    return emit(.invalid(violation))
                case .head(let head):
                    let bytes = buffer.readSlice(length: head.end)!
                    if head.isInterim {
                        state = .head(resumeAt: 0)
                        continue
                    }
                    reusable = head.reusable
                    emit(.head(head, bytes))
                    switch head.framing {
                    case .none:
                        finish(emit)
                    case .contentLength(let length):
                        state = .contentLength(remaining: length)
                    case .chunked:
                        state = .chunked(ChunkedBodyScanner())
                    case .untilClose:
                        state = .untilClose
                    }
                }
            case .contentLength(let remaining):
                let n = min(remaining, buffer.readableBytes)
                emit(.body(buffer.readSlice(length: n)!))
                if n == remaining { finish(emit) } else { state = .contentLength(remaining: remaining - n) }
            case .chunked(var scanner):
                let slice = buffer
                let progress = slice.withUnsafeReadableBytes { bytes in
                    scanner.feed(bytes) { range in
                        if collectsData { emit(.data(slice.getSlice(at: slice.readerIndex + range.lowerBound, length: range.count)!)) }
                    }
                }
                switch progress {
                case .needMore:
                    state = .chunked(scanner)
                    emit(.body(buffer))
                    return
                case .end(let at):
                    emit(.body(buffer.readSlice(length: at)!))
                    finish(emit)
                case .invalid(let violation):
                    state = .failed
                    return emit(.invalid(violation))
                }
            case .untilClose:
                emit(.body(buffer))
                return
            }
        }
    }

    /// The agent closed the connection: the end of a body read until the close, else nil (the
    /// exchange decides what a close in the middle of an answer means).
    mutating func closed() -> Event? {
        guard case .untilClose = state else { return nil }
        state = .failed
        return .end(reusable: false)
    }

    private mutating func finish(_ emit: (Event) -> Void) {
        state = .idle
        emit(.end(reusable: reusable))
    }
}
