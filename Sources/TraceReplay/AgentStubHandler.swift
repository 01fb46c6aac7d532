import AgentImitation
import Foundation
import NIOCore
import NIOHTTP1

/// Answers each request of one connection like the agent does, once its body has been read.
final class AgentStubHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// Answers prepared once per endpoint the imitation knows (`StubState.prepared`): the stub
    /// should cost nothing next to what it measures.
    struct Prepared: Sendable {
        let status: HTTPResponseStatus
        let headers: HTTPHeaders
        let body: ByteBuffer

        init(_ answer: AgentImitation.Answer) {
            status = HTTPResponseStatus(statusCode: answer.status)
            var headers = HTTPHeaders()
            for header in answer.headers { headers.add(name: header.name, value: header.value) }
            headers.add(name: "Content-Length", value: String(answer.body.count))
            self.headers = headers
            body = ByteBuffer(bytes: answer.body)
        }
    }

    private let state: StubState
    private var head: HTTPRequestHead?
    private var bytes = 0
    private var sha: SHA256?

    init(state: StubState) {
        self.state = state
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            bytes = 0
            sha = state.recordSHA ? SHA256() : nil
        case .body(let buffer):
            bytes += buffer.readableBytes
            if sha != nil { buffer.withUnsafeReadableBytes { sha!.update($0) } }
        case .end:
            guard let head else { return }
            self.head = nil
            respond(to: head, context: context)
        }
    }

    private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? head.uri
        let answer: Prepared
        if path == "/stub/stats" {
            let data = (try? JSONEncoder().encode(state.stats.withLock { $0 })) ?? Data("{}".utf8)
            answer = Prepared(AgentImitation.Answer(status: 200, headers: [.init(name: "Content-Type", value: "application/json")], body: Array(data)))
        } else {
            state.received(path: path, bytes: bytes, sha256: sha.map { var s = $0; return s.finalizeHex() })
            answer = state.prepared[path] ?? Prepared(state.imitation.answer(method: head.method.rawValue, path: path))
        }
        var headers = answer.headers
        if !head.isKeepAlive { headers.add(name: "Connection", value: "close") }
        let body = answer.body
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: answer.status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        if head.isKeepAlive {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        } else {
            context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
