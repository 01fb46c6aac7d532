import Foundation
import NIOCore
import NIOHTTP1

/// Answers each request of one connection like the agent does, once its body has been read.
final class AgentStubHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// Answers prepared once: the stub should cost nothing next to what it measures.
    static let traceAnswer = ByteBuffer(string: #"{"rate_by_service":{}}"#)
    static let emptyAnswer = ByteBuffer(string: "{}")
    static let infoAnswer = ByteBuffer(string: """
        {"version":"7.70.0","git_commit":"trace-compat-stub","endpoints":["/v0.4/traces","/v0.5/traces",\
        "/v0.6/stats","/v0.7/config","/telemetry/proxy/","/evp_proxy/v2/","/info"],\
        "feature_flags":[],"client_drop_p0s":true,"span_meta_structs":true,"long_running_spans":true,\
        "config":{"statsd_port":8125,"receiver_port":8126}}
        """)

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
        let body: ByteBuffer
        if path == "/stub/stats" {
            let data = (try? JSONEncoder().encode(state.stats.withLock { $0 })) ?? Data("{}".utf8)
            body = ByteBuffer(bytes: data)
        } else {
            state.received(path: path, bytes: bytes, sha256: sha.map { var s = $0; return s.finalizeHex() })
            if path.hasPrefix("/v0."), path.hasSuffix("/traces") {
                body = Self.traceAnswer
            } else if path == "/info" {
                body = Self.infoAnswer
            } else {
                body = Self.emptyAnswer
            }
        }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Content-Length", value: String(body.readableBytes))
        if !head.isKeepAlive { headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .ok, headers: headers))), promise: nil)
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
