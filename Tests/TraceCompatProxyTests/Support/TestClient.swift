import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// What a client got back from the proxy.
struct TestResponse: Sendable {
    var status: Int
    var headers: [(String, String)]
    var body: [UInt8]

    func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
    var text: String { String(decoding: body, as: UTF8.self) }
}

/// A minimal HTTP/1.1 client on a real socket, one connection per `TestClient`, reusable for
/// several requests (keep-alive).
final class TestClient: @unchecked Sendable {
    let channel: any Channel
    private let collector: Collector

    private init(channel: any Channel, collector: Collector) {
        self.channel = channel
        self.collector = collector
    }

    static func connect(_ address: SocketAddress) async throws -> TestClient {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(Collector())
                }
            }
            .connect(to: address).get()
        let collector = try await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.handler(type: Collector.self)
        }.get()
        return TestClient(channel: channel, collector: collector)
    }

    /// Sends one request; `chunked` sends the body as chunks of `chunkSize` without Content-Length.
    func send(_ method: HTTPMethod = .GET, _ uri: String, headers: [(String, String)] = [], body: [UInt8] = [],
              chunked: Bool = false, chunkSize: Int = 1000) async throws -> TestResponse {
        let promise = channel.eventLoop.makePromise(of: TestResponse.self)
        let collector = self.collector
        let channel = self.channel
        try await channel.eventLoop.submit {
            guard channel.isActive else {
                promise.fail(ChannelError.ioOnClosedChannel)
                return
            }
            collector.promise = promise
            var head = HTTPRequestHead(version: .http1_1, method: method, uri: uri)
            for (name, value) in headers { head.headers.add(name: name, value: value) }
            if !head.headers.contains(name: "host") { head.headers.add(name: "Host", value: "127.0.0.1") }
            if chunked {
                head.headers.add(name: "Transfer-Encoding", value: "chunked")
            } else if !body.isEmpty || method == .POST || method == .PUT {
                head.headers.replaceOrAdd(name: "Content-Length", value: String(body.count))
            }
            channel.write(HTTPClientRequestPart.head(head), promise: nil)
            var offset = 0
            while offset < body.count {
                let end = chunked ? min(body.count, offset + chunkSize) : body.count
                channel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(bytes: body[offset..<end]))), promise: nil)
                offset = end
            }
            channel.writeAndFlush(HTTPClientRequestPart.end(nil)).whenFailure { collector.fail($0) }
        }.get()
        return try await promise.futureResult.get()
    }

    func close() async {
        try? await channel.close()
    }

    /// One request on a new connection.
    static func request(_ address: SocketAddress, _ method: HTTPMethod = .GET, _ uri: String, headers: [(String, String)] = [],
                        body: [UInt8] = [], chunked: Bool = false) async throws -> TestResponse {
        let client = try await connect(address)
        defer { Task { await client.close() } }
        return try await client.send(method, uri, headers: headers, body: body, chunked: chunked)
    }

    final class Collector: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPClientResponsePart
        var promise: EventLoopPromise<TestResponse>?
        var response: TestResponse?

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                response = TestResponse(status: Int(head.status.code), headers: head.headers.map { ($0.name, $0.value) }, body: [])
            case .body(let buffer):
                response?.body.append(contentsOf: buffer.readableBytesView)
            case .end:
                if let response { promise?.succeed(response) }
                promise = nil
                response = nil
            }
        }

        func fail(_ error: any Error) {
            promise?.fail(error)
            promise = nil
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            fail(error)
            context.close(promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            promise?.fail(ChannelError.eof)
            promise = nil
            context.fireChannelInactive()
        }
    }
}

/// A raw TCP connection that writes bytes as given (for malformed or abandoned requests).
final class RawConnection: @unchecked Sendable {
    let channel: any Channel

    private init(channel: any Channel) { self.channel = channel }

    static func connect(_ address: SocketAddress) async throws -> RawConnection {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(to: address).get()
        return RawConnection(channel: channel)
    }

    func write(_ text: String) async throws { try await write(Array(text.utf8)) }

    func write(_ bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes)).get()
    }

    func close() async { try? await channel.close() }
}
