import CompatReport
import NIOCore
import Testing
@testable import TraceCompatProxy

/// Reserve, keep, drop, hand off: what analysis keeps of a body, against `queue_max_bytes`,
/// without a socket.
@Suite struct AnalysisTapTests {
    let allocator = ByteBufferAllocator()

    func queue(maxBytes: Int) -> AnalysisQueue {
        AnalysisQueue(capacity: 4, maxBytes: maxBytes, threads: 1, store: ReportStore())
    }

    @Test func aDeclaredLengthIsReservedInFullAtTheHead() {
        let queue = queue(maxBytes: 100)
        let tap = AnalysisTap(queue: queue, declaredLength: 60, maxBodyBytes: 1000)
        #expect(tap.state == .keeping)
        #expect(queue.heldBytes == 60)
        tap.keep(allocator.buffer(bytes: [UInt8](repeating: 1, count: 60)), receivedSoFar: 60, allocator: allocator)
        #expect(queue.heldBytes == 60, "nothing more reserved for bytes already counted")
        guard case .offer(let body, let reserved) = tap.handOff() else { Issue.record("not offered"); return }
        #expect(body.count == 60 && reserved == 60)
        #expect(queue.heldBytes == 60, "the reservation goes with the body")
        queue.release(60)
        queue.drain()
    }

    @Test func aBodyThatDoesNotFitIsRefusedAndCountedNotAnalysed() {
        let queue = queue(maxBytes: 100)
        let other = AnalysisTap(queue: queue, declaredLength: 80, maxBodyBytes: 1000)
        let tap = AnalysisTap(queue: queue, declaredLength: 50, maxBodyBytes: 1000)
        #expect(tap.state == .refused)
        tap.keep(allocator.buffer(bytes: [1, 2, 3]), receivedSoFar: 3, allocator: allocator)
        #expect(tap.body.count == 0)
        guard case .countNotAnalysed = tap.handOff() else { Issue.record("offered"); return }
        #expect(queue.heldBytes == 80)
        _ = other
        queue.drain()
    }

    @Test func aChunkedBodyIsReservedAsItArrivesAndGivenBackWhenItStopsFitting() {
        let queue = queue(maxBytes: 100)
        let tap = AnalysisTap(queue: queue, declaredLength: nil, maxBodyBytes: 1000)
        tap.keep(allocator.buffer(bytes: [UInt8](repeating: 1, count: 70)), receivedSoFar: 70, allocator: allocator)
        #expect(queue.heldBytes == 70)
        tap.keep(allocator.buffer(bytes: [UInt8](repeating: 1, count: 40)), receivedSoFar: 110, allocator: allocator)
        #expect(tap.state == .refused)
        #expect(queue.heldBytes == 0, "what was kept is given back at once")
        queue.drain()
    }

    @Test func overTheBodyLimitNothingIsKeptAndTheTapGivesItsBytesBackWhenItGoes() {
        let queue = queue(maxBytes: 1000)
        var tap: AnalysisTap? = AnalysisTap(queue: queue, declaredLength: nil, maxBodyBytes: 50)
        tap!.keep(allocator.buffer(bytes: [UInt8](repeating: 1, count: 40)), receivedSoFar: 40, allocator: allocator)
        #expect(queue.heldBytes == 40)
        tap!.keep(allocator.buffer(bytes: [UInt8](repeating: 1, count: 20)), receivedSoFar: 60, allocator: allocator)
        #expect(tap!.state == .dropped && queue.heldBytes == 0)
        let abandoned = AnalysisTap(queue: queue, declaredLength: 30, maxBodyBytes: 50)
        #expect(queue.heldBytes == 30)
        tap = nil
        _ = consume abandoned
        #expect(queue.heldBytes == 0, "an exchange that ends without a hand-off gives its reservation back")
        queue.drain()
    }
}
