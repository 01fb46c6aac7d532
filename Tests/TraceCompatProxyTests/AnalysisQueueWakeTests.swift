import CompatReport
import Foundation
import Testing
import TraceAnalysis
import TraceCompatProxy

/// How the queue wakes its threads (`AnalysisQueueLimits`): an offer to a parked thread wakes it
/// at once, offers during a linger wait for it to end unless a wake threshold is reached,
/// `waitUntilIdle` and `drain` never wait for a linger, and every payload queued is analysed
/// exactly once. A linger of 60 s makes "not woken" visible: only a wake ends it in time.
@Suite struct AnalysisQueueWakeTests {
    static let longLinger: UInt64 = 60_000_000_000

    /// A v0.4 trace payload of one trace with one span (msgpack built here, one payload each).
    static func payload(_ n: Int) -> AnalysisQueue.Work {
        // [[{"name": "op", "service": "svc", "resource": "r<n>"}]]
        var body: [UInt8] = [0x91, 0x91, 0x83]
        for (key, value) in [("name", "op"), ("service", "svc"), ("resource", "r\(n)")] {
            body += [0xA0 | UInt8(key.utf8.count)] + Array(key.utf8)
            body += [0xA0 | UInt8(value.utf8.count)] + Array(value.utf8)
        }
        return .request(CapturedRequest(method: "POST", path: "/v0.4/traces",
                                        headers: [("Content-Type", "application/msgpack"), ("Datadog-Meta-Lang", "python")], body: body))
    }

    /// Polls `condition` for up to 5 s (well under the 60 s linger).
    static func eventually(_ condition: () -> Bool) -> Bool {
        for _ in 0..<500 {
            if condition() { return true }
            Thread.sleep(forTimeInterval: 0.01)
        }
        return condition()
    }

    @Test func aParkedThreadIsWokenByTheFirstOfferAndLingeringOnesAreNot() {
        let store = ReportStore()
        let queue = AnalysisQueue(capacity: 64, threads: 1, store: store, lingerNanoseconds: Self.longLinger)
        defer { queue.drain() }
        // Parked: the thread has not lingered yet, so the first offer wakes it.
        #expect(queue.offer(Self.payload(0)))
        #expect(Self.eventually { queue.activity.idle }, "a parked thread wakes at the first offer")
        // Now it lingers for 60 s: offers below the wake threshold (16 = 64 / 4) leave it alone.
        for n in 1...3 { #expect(queue.offer(Self.payload(n))) }
        Thread.sleep(forTimeInterval: 0.2)
        #expect(queue.activity == AnalysisQueue.Activity(queued: 3, inFlight: 0), "no wake per offer during a linger")
        // waitUntilIdle ends the linger rather than waiting 60 s for it.
        let start = Date()
        queue.waitUntilIdle()
        #expect(Date().timeIntervalSince(start) < 5)
        #expect(queue.activity.idle)
        #expect(store.snapshot().traffic.tracePayloadCount == 4)
    }

    @Test func reachingTheWakeThresholdEndsALinger() {
        let store = ReportStore()
        // capacity 8: the threshold is 2 payloads waiting (a quarter of the capacity).
        let queue = AnalysisQueue(capacity: 8, threads: 1, store: store, lingerNanoseconds: Self.longLinger)
        defer { queue.drain() }
        #expect(queue.offer(Self.payload(0)))
        #expect(Self.eventually { queue.activity.idle })
        #expect(queue.offer(Self.payload(1)))
        Thread.sleep(forTimeInterval: 0.2)
        #expect(queue.activity.queued == 1, "one payload waiting: the linger goes on")
        #expect(queue.offer(Self.payload(2)))
        #expect(Self.eventually { queue.activity.idle }, "the second payload waiting wakes the thread")
        #expect(store.snapshot().traffic.tracePayloadCount == 3)
    }

    /// The byte threshold: a quarter of `queue_max_bytes` waiting ends the linger too.
    @Test func reachingTheByteThresholdEndsALinger() {
        let store = ReportStore()
        let queue = AnalysisQueue(capacity: 64, maxBytes: 4 * 40, threads: 1, store: store, lingerNanoseconds: Self.longLinger)
        defer { queue.drain() }
        #expect(queue.offer(Self.payload(0)))
        #expect(Self.eventually { queue.activity.idle })
        #expect(queue.reserve(40), "a body being received counts against the budget")
        #expect(queue.offer(Self.payload(1)), "and with it the queue holds over 40 bytes, a quarter of 160")
        #expect(Self.eventually { queue.activity.idle })
        queue.release(40)
        #expect(store.snapshot().traffic.tracePayloadCount == 2)
    }

    /// The caps hold during a linger: what is refused is refused, what is accepted is analysed
    /// (drain analyses every queued payload before it returns), so `not_analysed` stays exact.
    @Test func drainAnalysesEverythingQueuedAndTheCapsHold() {
        let store = ReportStore()
        let queue = AnalysisQueue(capacity: 250, threads: 2, store: store, lingerNanoseconds: Self.longLinger)
        var accepted = 0
        for n in 0..<300 where queue.offer(Self.payload(n)) { accepted += 1 }
        // At most 250 wait at once; the threads may have taken some meanwhile (batches).
        #expect(accepted >= 250 && accepted <= 300)
        queue.drain()
        #expect(queue.activity.idle)
        #expect(!queue.offer(Self.payload(0)), "draining: refused")
        let report = store.snapshot()
        #expect(report.traffic.tracePayloadCount == accepted, "every accepted payload analysed, once")
        #expect(report.traffic.spans == accepted)
    }

    /// No linger: a thread parks as soon as the queue is empty, and every offer to it wakes it.
    @Test func withoutLingerEveryPayloadIsAnalysedAtOnce() {
        let store = ReportStore()
        let queue = AnalysisQueue(capacity: 8, threads: 1, store: store, lingerNanoseconds: 0)
        defer { queue.drain() }
        for n in 0..<20 {
            #expect(queue.offer(Self.payload(n)))
            #expect(Self.eventually { queue.activity.idle })
        }
        #expect(store.snapshot().traffic.tracePayloadCount == 20)
    }
}
