import NIOCore
import Testing
@testable import TraceCompatProxy

/// The client timers' decisions (`header_timeout`, `body_timeout`, `idle_timeout`), without a
/// socket: times are given, not waited for.
@Suite struct ConnectionStateMachineTests {
    typealias Machine = ConnectionStateMachine
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000_000)
    let timeouts = Machine.Timeouts(header: .seconds(60), body: .seconds(30), idle: .seconds(75))

    @Test func aConnectionThatSendsNothingGets408AfterTheHeaderTimeout() {
        var machine = Machine(timeouts: timeouts, now: start)
        #expect(machine.firstCheck == start + .seconds(30), "the shortest timeout: a body phase may begin before 60 s")
        #expect(machine.timerFired(at: start + .seconds(59)) == .checkAgain(at: start + .seconds(60)))
        #expect(machine.timerFired(at: start + .seconds(60)) == .respondRequestTimeout)
        #expect(machine.timerFired(at: start + .seconds(61)) == .stop)
    }

    /// A head trickled byte by byte is timed from its first byte, not from its last.
    @Test func aTrickledHeadIsTimedFromItsFirstByte() {
        var machine = Machine(timeouts: timeouts, now: start)
        machine.bytesReceived(at: start + .seconds(10))
        machine.bytesReceived(at: start + .seconds(69))
        #expect(machine.timerFired(at: start + .seconds(60)) == .checkAgain(at: start + .seconds(70)))
        #expect(machine.timerFired(at: start + .seconds(70)) == .respondRequestTimeout)
    }

    @Test func aBodyIsTimedOnSilenceAndALiveOneIsNeverCut() {
        var machine = Machine(timeouts: timeouts, now: start)
        machine.bytesReceived(at: start)
        machine.requestHeadReceived(at: start)
        for second in stride(from: 20, through: 200, by: 20) {
            machine.bytesReceived(at: start + .seconds(Int64(second)))
            #expect(machine.timerFired(at: start + .seconds(Int64(second) + 1)) == .checkAgain(at: start + .seconds(Int64(second) + 30)))
        }
        #expect(machine.timerFired(at: start + .seconds(230)) == .failBody)
    }

    @Test func noClientTimerRunsWhileTheAnswerIsAwaited() {
        var machine = Machine(timeouts: timeouts, now: start)
        machine.bytesReceived(at: start)
        machine.requestHeadReceived(at: start)
        machine.requestEnded()
        #expect(machine.timerFired(at: start + .seconds(1000)) == .checkAgain(at: start + .seconds(1030)))
        machine.exchangeEnded(at: start + .seconds(1000))
        #expect(machine.timerFired(at: start + .seconds(1074)) == .checkAgain(at: start + .seconds(1075)))
        #expect(machine.timerFired(at: start + .seconds(1075)) == .closeIdle)
    }

    /// Bytes of the next request that arrive while an answer is written start its head's clock
    /// when the answer ends (the next request is under way, not idle).
    @Test func aPipelinedHeadIsTimedAsAHeadNotAsIdle() {
        var machine = Machine(timeouts: timeouts, now: start)
        machine.bytesReceived(at: start)
        machine.requestHeadReceived(at: start)
        machine.requestEnded()
        machine.bytesReceived(at: start + .seconds(1))
        machine.exchangeEnded(at: start + .seconds(2))
        #expect(machine.timerFired(at: start + .seconds(62)) == .respondRequestTimeout)
    }

    /// A phase that begins while the timer sleeps towards a later deadline is still looked at
    /// before its own deadline (the timer never sleeps past the shortest timeout).
    @Test func aShorterPhaseThatBeginsMeanwhileIsNotLate() {
        var machine = Machine(timeouts: Machine.Timeouts(header: .seconds(60), body: .seconds(1), idle: .seconds(75)), now: start)
        machine.bytesReceived(at: start)
        machine.requestHeadReceived(at: start)
        machine.requestEnded()
        machine.exchangeEnded(at: start)
        #expect(machine.timerFired(at: start + .seconds(1)) == .checkAgain(at: start + .seconds(2)))
        machine.bytesReceived(at: start + .milliseconds(1500))
        machine.requestHeadReceived(at: start + .milliseconds(1500))
        #expect(machine.timerFired(at: start + .seconds(2)) == .checkAgain(at: start + .milliseconds(2500)))
        #expect(machine.timerFired(at: start + .milliseconds(2500)) == .failBody)
    }

    @Test func aClosingConnectionStopsItsTimer() {
        var machine = Machine(timeouts: timeouts, now: start)
        machine.closing()
        #expect(machine.timerFired(at: start + .seconds(100)) == .stop)
    }

    // MARK: pipelining, read pausing, quiescing

    /// Parts of the next request wait while the previous one is unanswered, and once one part
    /// is held every later part is held too (order), until the handler releases them.
    @Test func pipelinedPartsAreHeldInOrderAndReleased() {
        var machine = Machine(timeouts: timeouts, now: start)
        #expect(machine.requestPartArrived(bodyBytes: 0, previousRequestUnanswered: false) == .handle)
        #expect(machine.requestPartArrived(bodyBytes: 0, previousRequestUnanswered: true) == .hold)
        #expect(machine.requestPartArrived(bodyBytes: 10, previousRequestUnanswered: false) == .hold, "behind a held part")
        #expect(machine.heldParts == 2 && machine.heldBytes == 10)
        machine.heldPartReleased(bodyBytes: 0)
        machine.heldPartReleased(bodyBytes: 10)
        #expect(!machine.hasHeldParts && machine.heldBytes == 0)
        #expect(machine.requestPartArrived(bodyBytes: 0, previousRequestUnanswered: false) == .handle)
    }

    /// Reads pause at either bound of held requests, and while the agent's connection cannot take
    /// more; they resume when both allow, each change said once.
    @Test func readsPauseAtTheHeldBoundsAndOnUpstreamBackpressure() {
        var machine = Machine(timeouts: timeouts, now: start, heldBytesLimit: 100, heldPartsLimit: 3)
        #expect(machine.readAction() == nil, "reading from the start")
        _ = machine.requestPartArrived(bodyBytes: 99, previousRequestUnanswered: true)
        #expect(machine.readAction() == nil)
        _ = machine.requestPartArrived(bodyBytes: 1, previousRequestUnanswered: true)
        #expect(machine.readAction() == .pauseReads, "100 bytes held")
        #expect(machine.readAction() == nil, "said once")
        machine.heldPartReleased(bodyBytes: 99)
        #expect(machine.readAction() == .resumeReads)
        _ = machine.requestPartArrived(bodyBytes: 0, previousRequestUnanswered: true)
        _ = machine.requestPartArrived(bodyBytes: 0, previousRequestUnanswered: true)
        #expect(machine.readAction() == .pauseReads, "3 parts held")
        machine.heldPartsDiscarded()
        #expect(machine.readAction() == .resumeReads)
        machine.upstreamWritabilityChanged(false)
        #expect(machine.readAction() == .pauseReads, "the agent's connection is full")
        machine.upstreamWritabilityChanged(true)
        #expect(machine.readAction() == .resumeReads)
    }

    @Test func quiescingClosesNowAfterTheAnswerOrAfterTheHeldRequests() {
        var idle = Machine(timeouts: timeouts, now: start)
        #expect(idle.quiesce(exchangeInProgress: false) == .closeNow)
        var busy = Machine(timeouts: timeouts, now: start)
        #expect(busy.quiesce(exchangeInProgress: true) == .closeAfterAnswer)
        #expect(busy.quiescing, "later exchanges close too")
        var holding = Machine(timeouts: timeouts, now: start)
        _ = holding.requestPartArrived(bodyBytes: 0, previousRequestUnanswered: true)
        #expect(holding.quiesce(exchangeInProgress: false) == .finishHeldRequests)
    }
}
