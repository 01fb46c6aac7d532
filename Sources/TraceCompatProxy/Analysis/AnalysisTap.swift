import NIOCore

/// What analysis keeps of one request body while it is forwarded, and what it hands over at the
/// end: reserve, keep, drop, hand off. No I/O; the handler feeds it body parts and carries out
/// the hand-off (the pattern of `ExchangeStateMachine`).
///
/// Every byte kept counts against `queue_max_bytes` (`AnalysisQueue.reserve`) from the moment
/// it is kept until the analysis thread is done with it, so the memory analysis holds is bounded
/// however many bodies are being received at once:
/// - a declared `Content-Length` is reserved in full when the head arrives, so a body that
///   cannot fit is refused before any of it is kept;
/// - a chunked body is reserved as its chunks arrive; when one does not fit, what was kept is
///   given back and the body is refused;
/// - a refused body is still forwarded as usual and counted `not_analysed` when it ends;
/// - a body over `max_body_bytes` is dropped (the exchange answers 413; nothing is counted);
/// - whatever is still reserved when the tap goes away (client gone, exchange cut) is given back.
final class AnalysisTap {
    enum State: Equatable {
        /// Keeping the body as it arrives.
        case keeping
        /// The body did not fit in `queue_max_bytes`: not kept, `not_analysed` at the end.
        case refused
        /// Over `max_body_bytes`, or handed off already: nothing more to keep.
        case dropped
    }

    /// What to do with the request once it ended.
    enum HandOff {
        /// Offer the request to the queue, with the bytes already reserved for its body.
        case offer(TeeBody, reserved: Int)
        /// Count it `not_analysed` (its body did not fit).
        case countNotAnalysed
    }

    private(set) var state: State
    private(set) var body = TeeBody()
    /// Bytes reserved against `queue_max_bytes` for `body`.
    private(set) var reserved = 0
    let queue: AnalysisQueue
    let maxBodyBytes: Int

    /// A tap for a body of `declaredLength` bytes (nil: chunked or none).
    init(queue: AnalysisQueue, declaredLength: Int?, maxBodyBytes: Int) {
        self.queue = queue
        self.maxBodyBytes = maxBodyBytes
        if let length = declaredLength, length > 0, length <= maxBodyBytes {
            if queue.reserve(length) {
                reserved = length
                state = .keeping
            } else {
                state = .refused
            }
        } else {
            state = .keeping
        }
    }

    deinit { queue.release(reserved) }

    /// A body part arrived; `receivedSoFar` counts every body byte of the request, this part
    /// included.
    func keep(_ part: ByteBuffer, receivedSoFar: Int, allocator: ByteBufferAllocator) {
        guard state == .keeping else { return }
        guard receivedSoFar <= maxBodyBytes else { return drop(.dropped) }
        let needed = body.count + part.readableBytes
        if needed > reserved {
            guard queue.reserve(needed - reserved) else { return drop(.refused) }
            reserved = needed
        }
        body.append(part, allocator: allocator)
    }

    /// The request ended: what to hand over. The reservation goes with the body (the queue
    /// releases it once analysed, or at once when it refuses the offer).
    func handOff() -> HandOff {
        switch state {
        case .refused:
            return .countNotAnalysed
        case .keeping, .dropped:
            let handed = body
            let bytes = reserved
            body = TeeBody()
            reserved = 0
            state = .dropped
            return .offer(handed, reserved: bytes)
        }
    }

    private func drop(_ next: State) {
        body = TeeBody()
        queue.release(reserved)
        reserved = 0
        state = next
    }
}
