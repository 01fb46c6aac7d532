import NIOCore
import Testing
import TraceCompatProxy

/// The connection lifecycle decisions, without a socket.
@Suite struct ExchangeStateMachineTests {
    typealias Machine = ExchangeStateMachine
    let part = ByteBuffer(bytes: [1, 2, 3])

    /// A bodyless request forwarded whole on a new connection, waiting for the agent's answer.
    static func awaitingAnswer() -> Machine {
        var machine = Machine(mode: .forward, maxBodyBytes: 100)
        _ = machine.requestHead(contentLength: 0)
        _ = machine.upstreamConnected()
        _ = machine.requestEnd()
        return machine
    }

    @Test func bodyPartsWaitForTheUpstreamConnectionInOrder() {
        var machine = Machine(mode: .forward, maxBodyBytes: 100)
        #expect(machine.requestHead(contentLength: 6) == .connectUpstream)
        #expect(machine.requestBody(part) == .none)
        #expect(machine.requestBody(ByteBuffer(bytes: [4, 5, 6])) == .none)
        #expect(machine.requestEnd() == .none)
        #expect(machine.upstreamConnected() == .forward([.head, .body(part), .body(ByteBuffer(bytes: [4, 5, 6])), .end], startTimer: true))
    }

    @Test func afterConnectingPartsGoStraightThroughAndTheTimerStartsAtTheEnd() {
        var machine = Machine(mode: .forward, maxBodyBytes: 100)
        _ = machine.requestHead(contentLength: nil)
        #expect(machine.upstreamConnected() == .forward([.head], startTimer: false))
        #expect(machine.requestBody(part) == .forward([.body(part)], startTimer: false))
        #expect(machine.requestEnd() == .forward([.end], startTimer: true))
        #expect(machine.upstreamResponseHead() == .relayHead)
        #expect(machine.upstreamResponseBody() == .relayBody)
        #expect(machine.upstreamResponseEnd(keepAlive: true) == .relayEnd(reuseUpstream: true, exchangeComplete: true))
        #expect(machine.isComplete)
    }

    @Test func declaredOversizeIsRejectedBeforeConnecting() {
        var machine = Machine(mode: .forward, maxBodyBytes: 10)
        #expect(machine.requestHead(contentLength: 11) == .respondError(.payloadTooLarge, closeClient: true, dropUpstream: false))
        #expect(machine.requestBody(part) == .none)
        #expect(machine.upstreamConnected() == .discardUpstream)
    }

    @Test func chunkedOversizeBeforeTheAnswerIs413AndDropsTheUpstream() {
        var machine = Machine(mode: .forward, maxBodyBytes: 4)
        _ = machine.requestHead(contentLength: nil)
        _ = machine.upstreamConnected()
        _ = machine.requestBody(part)
        #expect(machine.requestBody(part) == .respondError(.payloadTooLarge, closeClient: true, dropUpstream: true))
        #expect(machine.requestEnd() == .none)
    }

    @Test func oversizeAfterTheAnswerStartedClosesTheClient() {
        var machine = Machine(mode: .forward, maxBodyBytes: 4)
        _ = machine.requestHead(contentLength: nil)
        _ = machine.upstreamConnected()
        _ = machine.requestBody(part)
        _ = machine.upstreamResponseHead()
        #expect(machine.requestBody(part) == .closeClient(.payloadTooLarge, dropUpstream: true))
    }

    @Test func refusedConnectionIsAnsweredOnceTheRequestIsRead() {
        var machine = Machine(mode: .forward, maxBodyBytes: 100)
        _ = machine.requestHead(contentLength: 3)
        #expect(machine.upstreamConnectFailed(.upstreamUnreachable) == .none)
        #expect(machine.requestBody(part) == .none)
        #expect(machine.requestEnd() == .respondError(.upstreamUnreachable, closeClient: false, dropUpstream: false))
        #expect(machine.isComplete)
    }

    @Test func refusedConnectionAfterTheRequestIsAnsweredAtOnce() {
        var machine = Machine(mode: .forward, maxBodyBytes: 100)
        _ = machine.requestHead(contentLength: 0)
        _ = machine.requestEnd()
        #expect(machine.upstreamConnectFailed(.upstreamTimeout) == .respondError(.upstreamTimeout, closeClient: false, dropUpstream: false))
    }

    @Test func timeoutBeforeTheAnswerIs504AndLateAnswersAreIgnored() {
        var machine = Self.awaitingAnswer()
        #expect(machine.timeout() == .respondError(.upstreamTimeout, closeClient: false, dropUpstream: true))
        #expect(machine.upstreamResponseHead() == .none)
        #expect(machine.upstreamResponseEnd(keepAlive: true) == .none)
        #expect(machine.isComplete)
    }

    @Test func timeoutWhileTheAnswerStallsClosesTheClient() {
        var machine = Self.awaitingAnswer()
        _ = machine.upstreamResponseHead()
        _ = machine.upstreamResponseBody()
        // The status line was relayed already: no 504 can be sent, the client sees the answer cut.
        #expect(machine.timeout() == .closeClient(.upstreamTimeout, dropUpstream: true))
        #expect(machine.upstreamResponseBody() == .none)
        #expect(machine.upstreamResponseEnd(keepAlive: true) == .none)
        #expect(machine.timeout() == .none)
    }

    @Test func timeoutAfterTheAnswerEndedDoesNothing() {
        var machine = Self.awaitingAnswer()
        _ = machine.upstreamResponseHead()
        _ = machine.upstreamResponseEnd(keepAlive: true)
        #expect(machine.timeout() == .none)
    }

    @Test func upstreamClosingBeforeTheAnswerIs502() {
        var machine = Self.awaitingAnswer()
        #expect(machine.upstreamClosed() == .respondError(.upstreamUnreachable, closeClient: false, dropUpstream: true))
    }

    @Test func upstreamClosingMidAnswerClosesTheClient() {
        var machine = Self.awaitingAnswer()
        _ = machine.upstreamResponseHead()
        #expect(machine.upstreamClosed() == .closeClient(.upstreamReset, dropUpstream: true))
        #expect(machine.clientClosed() == .abandon(nil, dropUpstream: false))
    }

    @Test func earlyAnswerIsRelayedAndTheUpstreamIsNotReused() {
        var machine = Machine(mode: .forward, maxBodyBytes: 100)
        _ = machine.requestHead(contentLength: 6)
        _ = machine.upstreamConnected()
        _ = machine.requestBody(part)
        _ = machine.upstreamResponseHead()
        #expect(machine.upstreamResponseEnd(keepAlive: true) == .relayEnd(reuseUpstream: false, exchangeComplete: false))
        #expect(machine.requestBody(part) == .none)
        #expect(machine.requestEnd() == .exchangeComplete)
    }

    @Test func clientLeavingMidBodyDropsTheUpstreamAndCountsAnAbort() {
        var machine = Machine(mode: .forward, maxBodyBytes: 100)
        _ = machine.requestHead(contentLength: 50)
        _ = machine.upstreamConnected()
        _ = machine.requestBody(part)
        #expect(machine.clientClosed() == .abandon(.clientAborted, dropUpstream: true))
        #expect(machine.upstreamResponseHead() == .none)
    }

    @Test func upstreamThatClosedAfterItsAnswerIsNotAnError() {
        var machine = Self.awaitingAnswer()
        _ = machine.upstreamResponseHead()
        _ = machine.upstreamResponseEnd(keepAlive: false)
        #expect(machine.upstreamClosed() == .none)
        #expect(machine.clientClosed() == .abandon(nil, dropUpstream: false))
    }

    @Test func aReusedConnectionClosedBeforeAnsweringIsRetriedOnceWithTheWholeRequest() {
        var machine = Machine(mode: .forward, maxBodyBytes: 100)
        _ = machine.requestHead(contentLength: 3)
        #expect(machine.upstreamConnected(reused: true) == .forward([.head], startTimer: false))
        _ = machine.requestBody(part)
        #expect(machine.requestEnd() == .forward([.end], startTimer: true))
        #expect(machine.upstreamClosed() == .reconnectUpstream)
        // Replayed in full; the answer timer is not started a second time.
        #expect(machine.upstreamConnected(reused: false) == .forward([.head, .body(part), .end], startTimer: false))
        #expect(machine.upstreamClosed() == .respondError(.upstreamUnreachable, closeClient: false, dropUpstream: true))
    }

    @Test func aNewConnectionClosedBeforeAnsweringIsNotRetried() {
        var machine = Machine(mode: .forward, maxBodyBytes: 100)
        _ = machine.requestHead(contentLength: 0)
        _ = machine.upstreamConnected(reused: false)
        _ = machine.requestEnd()
        #expect(machine.upstreamClosed() == .respondError(.upstreamUnreachable, closeClient: false, dropUpstream: true))
    }

    @Test func localModeAnswersAtTheEndWithoutAnUpstream() {
        var machine = Machine(mode: .local, maxBodyBytes: 100)
        #expect(machine.requestHead(contentLength: 3) == .none)
        #expect(machine.requestBody(part) == .none)
        #expect(machine.requestEnd() == .respondLocally)
        #expect(machine.isComplete)
    }
}
