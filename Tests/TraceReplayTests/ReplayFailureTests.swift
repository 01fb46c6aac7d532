import NIOCore
import NIOHTTP1
import NIOPosix
import Testing
@testable import TraceReplay

/// Targets that misbehave, on real loopback sockets: every request still ends counted once.
@Suite struct ReplayFailureTests {
    /// A server that answers every request with `status`, or never answers when `status` is nil.
    final class ScriptedHandler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let status: HTTPResponseStatus?
        let closeAfterAnswer: Bool
        init(status: HTTPResponseStatus?, closeAfterAnswer: Bool) {
            self.status = status
            self.closeAfterAnswer = closeAfterAnswer
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard case .end = unwrapInboundIn(data), let status else { return }
            var headers = HTTPHeaders()
            headers.add(name: "Content-Length", value: "2")
            if closeAfterAnswer { headers.add(name: "Connection", value: "close") }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: "{}")))), promise: nil)
            let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
            if closeAfterAnswer { done.assumeIsolated().whenComplete { _ in context.close(promise: nil) } }
        }
    }

    func withServer(status: HTTPResponseStatus?, closeAfterAnswer: Bool = false, _ body: (ReplayTarget) async throws -> Void) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let channel = try await ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(ScriptedHandler(status: status, closeAfterAnswer: closeAfterAnswer))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        do {
            try await body(.tcp(host: "127.0.0.1", port: channel.localAddress!.port!))
        } catch {
            try? await channel.close()
            try? await group.shutdownGracefully()
            throw error
        }
        try? await channel.close()
        try? await group.shutdownGracefully()
    }

    let payloads = [ReplayPayload(name: "p", method: "PUT", path: "/v0.4/traces", headers: [], body: [0x90])]

    @Test func nonSuccessAnswersAreCountedAsErrors() async throws {
        try await withServer(status: .serviceUnavailable) { target in
            let r = try await ReplayRunner.run(payloads, configuration: ReplayConfiguration(target: target, connections: 2, count: 10))
            #expect(r.requests == 10 && r.responses == 10 && r.non2xx == 10 && r.ok == 0)
            #expect(r.unanswered == 0 && r.spansAnswered == 0)
            #expect(!r.isClean)
        }
    }

    @Test func aTargetThatNeverAnswersEndsInTimeouts() async throws {
        try await withServer(status: nil) { target in
            let r = try await ReplayRunner.run(payloads, configuration: ReplayConfiguration(
                target: target, connections: 1, count: 3, timeout: .milliseconds(150)))
            #expect(r.requests == 3 && r.responses == 0 && r.timeouts == 3 && r.unanswered == 3)
        }
    }

    @Test func connectionCloseAfterEachAnswerReconnects() async throws {
        try await withServer(status: .ok, closeAfterAnswer: true) { target in
            let r = try await ReplayRunner.run(payloads, configuration: ReplayConfiguration(target: target, connections: 2, count: 20))
            #expect(r.requests == 20 && r.ok == 20 && r.unanswered == 0 && r.connectionErrors == 0)
        }
    }
}
