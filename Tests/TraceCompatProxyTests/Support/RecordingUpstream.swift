import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// A stand-in Datadog Agent on a real loopback socket: records every request (head and body
/// bytes as received) and answers as the agent does, or misbehaves on purpose.
final class RecordingUpstream: @unchecked Sendable {
    enum Behaviour: Sendable {
        /// Answers like the agent: trace endpoints `{"rate_by_service":…}`, `/info` a document, else `{}`.
        case agent
        /// Reads the request and never answers.
        case hang
        /// Sends a status line promising 1000 bytes, 10 of them, then closes the connection.
        case resetMidAnswer
        /// Sends a status line promising 1000 bytes, 10 of them, then neither sends nor closes.
        case stallMidAnswer
        /// Sends a status line, then 6 body parts of 10 bytes 100 ms apart (a slow but live answer).
        case slowAnswer
        /// Answers with a chunked body of three chunks.
        case chunkedAnswer
        /// Answers the first request of each connection like the agent, then closes the
        /// connection on the second without answering (an idle timeout racing a reuse).
        case closeOnSecondRequest
        /// Answers the first request it receives like the agent, then never answers again.
        case hangAfterFirst
    }

    struct Recorded: Sendable {
        var method: String
        var uri: String
        var headers: [(String, String)]
        var body: [UInt8]
        /// Which upstream connection carried it: a serial number per accepted connection
        /// (an ObjectIdentifier could be reused by a new channel at a freed one's address).
        var connection: Int
    }

    static let infoBody = #"{"version":"7.60.0","endpoints":["/v0.4/traces","/v0.5/traces","/v0.6/stats","/telemetry/proxy/","/evp_proxy/v2/","/debugger/v1/input"],"client_drop_p0s":false,"span_meta_structs":true}"#

    let behaviour: Behaviour
    private let lock = NSLock()
    private var _requests: [Recorded] = []
    private var channel: (any Channel)?

    init(behaviour: Behaviour = .agent) {
        self.behaviour = behaviour
    }

    var requests: [Recorded] {
        lock.lock(); defer { lock.unlock() }
        return _requests
    }

    private var connections = 0

    func nextConnection() -> Int {
        lock.lock(); defer { lock.unlock() }
        connections += 1
        return connections
    }

    func record(_ request: Recorded) {
        lock.lock(); defer { lock.unlock() }
        _requests.append(request)
    }

    var port: Int { channel!.localAddress!.port! }

    func start(unixPath: String? = nil) async throws {
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(upstream: self, connection: self.nextConnection()))
                }
            }
        if let unixPath {
            channel = try await bootstrap.bind(unixDomainSocketPath: unixPath, cleanupExistingSocketFile: true).get()
        } else {
            channel = try await bootstrap.bind(host: "127.0.0.1", port: 0).get()
        }
    }

    func stop() async {
        try? await channel?.close()
    }

    static func answer(for uri: String) -> String {
        if uri.hasPrefix("/v0."), uri.contains("traces") { return #"{"rate_by_service":{"service:,env:":1}}"# }
        if uri == "/info" { return infoBody }
        return "{}"
    }

    final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let upstream: RecordingUpstream
        var head: HTTPRequestHead?
        var body: [UInt8] = []
        var served = 0
        let connection: Int

        init(upstream: RecordingUpstream, connection: Int) {
            self.upstream = upstream
            self.connection = connection
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                self.head = head
                body = []
            case .body(let buffer):
                body.append(contentsOf: buffer.readableBytesView)
            case .end:
                guard let head else { return }
                upstream.record(Recorded(method: head.method.rawValue, uri: head.uri, headers: head.headers.map { ($0.name, $0.value) },
                                         body: body, connection: connection))
                respond(context: context, head: head)
            }
        }

        func respond(context: ChannelHandlerContext, head: HTTPRequestHead) {
            served += 1
            var behaviour = upstream.behaviour
            if case .closeOnSecondRequest = behaviour {
                guard served == 1 else {
                    context.close(promise: nil)
                    return
                }
                behaviour = .agent
            }
            if case .hangAfterFirst = behaviour {
                guard upstream.requests.count == 1 else { return }
                behaviour = .agent
            }
            switch behaviour {
            case .closeOnSecondRequest, .hangAfterFirst:
                return
            case .hang:
                return
            case .agent:
                let answer = Array(RecordingUpstream.answer(for: head.uri).utf8)
                var response = HTTPResponseHead(version: .http1_1, status: .ok)
                response.headers.add(name: "Content-Type", value: "application/json")
                response.headers.add(name: "Content-Length", value: String(answer.count))
                response.headers.add(name: "X-Upstream", value: "recording")
                // The Agent's trace receiver sets it on every answer (the same version as its /info).
                response.headers.add(name: "Datadog-Agent-Version", value: "7.60.0")
                context.write(wrapOutboundOut(.head(response)), promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: answer)))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            case .chunkedAnswer:
                var response = HTTPResponseHead(version: .http1_1, status: .ok)
                response.headers.add(name: "Transfer-Encoding", value: "chunked")
                context.write(wrapOutboundOut(.head(response)), promise: nil)
                for part in ["one,", "two,", "three"] {
                    context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: part)))), promise: nil)
                }
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            case .stallMidAnswer:
                var response = HTTPResponseHead(version: .http1_1, status: .ok)
                response.headers.add(name: "Content-Length", value: "1000")
                context.write(wrapOutboundOut(.head(response)), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: Array(repeating: UInt8(ascii: "x"), count: 10))))), promise: nil)
            case .slowAnswer:
                var response = HTTPResponseHead(version: .http1_1, status: .ok)
                response.headers.add(name: "Content-Length", value: "60")
                context.writeAndFlush(wrapOutboundOut(.head(response)), promise: nil)
                let loop = context.eventLoop.assumeIsolated()
                for part in 1...6 {
                    loop.scheduleTask(in: .milliseconds(Int64(100 * part))) {
                        context.writeAndFlush(self.wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: Array(repeating: UInt8(ascii: "0") + UInt8(part), count: 10))))), promise: nil)
                        if part == 6 { context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil) }
                    }
                }
            case .resetMidAnswer:
                var response = HTTPResponseHead(version: .http1_1, status: .ok)
                response.headers.add(name: "Content-Length", value: "1000")
                context.write(wrapOutboundOut(.head(response)), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: Array(repeating: UInt8(ascii: "x"), count: 10)))))).assumeIsolated().whenComplete { _ in
                    context.close(promise: nil)
                }
            }
        }
    }
}
