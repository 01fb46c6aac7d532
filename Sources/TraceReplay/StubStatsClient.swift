import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// Reads `GET /stub/stats` from a `trace-replay --serve` stub (directly, or through a proxy that forwards
/// unknown paths), so that a replay can check what arrived upstream.
public enum StubStatsClient {
    public static func fetch(_ target: ReplayTarget, timeout: TimeAmount = .seconds(10)) async throws -> StubStats {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { group.shutdownGracefully { _ in } }
        let answer = group.next().makePromise(of: ByteBuffer.self)
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(OneAnswerHandler(answer: answer))
                }
            }
        let channel: any Channel
        switch target {
        case .tcp(let host, let port): channel = try await bootstrap.connect(host: host, port: port).get()
        case .unix(let path): channel = try await bootstrap.connect(unixDomainSocketPath: path).get()
        }
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: target.hostHeader)
        headers.add(name: "Connection", value: "close")
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/stub/stats", headers: headers)
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        let timer = channel.eventLoop.scheduleTask(in: timeout) { answer.fail(ChannelError.connectTimeout(timeout)) }
        defer { timer.cancel(); channel.close(promise: nil) }
        let body = try await answer.futureResult.get()
        return try JSONDecoder().decode(StubStats.self, from: Data(body.readableBytesView))
    }
}

/// Collects one response body and fulfils the promise with it (or fails it on a non-200).
final class OneAnswerHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    struct NotTheStub: Error, CustomStringConvertible {
        var status: HTTPResponseStatus
        var description: String { "GET /stub/stats answered \(status.code): is the upstream `trace-replay --serve`?" }
    }

    private let answer: EventLoopPromise<ByteBuffer>
    private var body = ByteBuffer()
    private var status: HTTPResponseStatus = .ok

    init(answer: EventLoopPromise<ByteBuffer>) { self.answer = answer }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h): status = h.status
        case .body(var b): body.writeBuffer(&b)
        case .end:
            if status == .ok { answer.succeed(body) } else { answer.fail(NotTheStub(status: status)) }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        answer.fail(ChannelError.eof)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        answer.fail(error)
        context.close(promise: nil)
    }
}

extension ReplayResult.Verification {
    /// Compares what the stub received during the run (`after` minus `before`) with what was sent
    /// and answered. Needs the stub's `--record-sha` for the byte-for-byte check.
    public init(before: StubStats, after: StubStats, payloads: [ReplayPayload], counters: ReplayCounters) {
        requestsReceived = after.requests - before.requests
        bytesReceived = after.bytes - before.bytes
        var problems: [String] = []
        if requestsReceived != counters.ok {
            problems.append("\(counters.ok) requests answered 2xx but \(requestsReceived) arrived")
        }
        let sent = counters.answeredPerPayload.enumerated().reduce(0) { $0 + $1.element * payloads[$1.offset].body.readableBytes }
        if sent != bytesReceived { problems.append("\(sent) body bytes answered 2xx but \(bytesReceived) arrived") }
        if let afterBodies = after.bodies {
            var expected: [String: Int] = [:]
            for (i, n) in counters.answeredPerPayload.enumerated() where n > 0 { expected[payloads[i].sha256, default: 0] += n }
            var received = afterBodies
            for (sha, n) in before.bodies ?? [:] { received[sha, default: 0] -= n }
            received = received.filter { $0.value != 0 }
            for (sha, n) in expected where received[sha] != n {
                let name = payloads.first { $0.sha256 == sha }?.name ?? sha
                problems.append("\(name): sent \(n), received \(received[sha] ?? 0)")
            }
            let unknown = received.keys.filter { expected[$0] == nil }
            if !unknown.isEmpty { problems.append("\(unknown.count) body digest(s) arrived that were never sent (altered bodies)") }
        }
        byteForByte = after.bodies != nil
        mismatches = problems
        bodiesMatch = problems.isEmpty
    }
}
