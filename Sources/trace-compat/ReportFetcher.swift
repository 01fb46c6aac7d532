import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// Fetches one node's live report (`GET http://HOST:PORT/compat/report.json`) for `report merge`.
///
/// A small SwiftNIO HTTP/1.1 client rather than FoundationNetworking's URLSession: the release
/// binary is linked with `--static-swift-stdlib`, and URLSession on Linux pulls in libcurl, which
/// would make the binary depend on a library the hosts may not have. The request is one GET with
/// `Connection: close` (RFC 9112 §9.6: the server closes after answering, so the body ends at the
/// latest with the connection); NIO's decoder handles Content-Length and chunked bodies.
/// Redirects are not followed (a proxy never sends one; following them would fetch from a node
/// the operator did not name). `https` is refused with a clear message: the project has no TLS
/// library; reach the admin listener over the node network or a port-forward instead.
enum ReportFetcher {
    struct FetchError: Error, CustomStringConvertible {
        var description: String
    }

    /// A URL `report merge` accepts, split into what the request needs.
    struct Target: Equatable {
        var host: String
        var port: Int
        var path: String

        /// Parses `http://HOST[:PORT]/PATH`; nil for anything that is not an http(s) URL (then it is a file).
        static func parse(_ text: String) throws -> Target? {
            let lower = text.lowercased()
            if lower.hasPrefix("https://") {
                throw FetchError(description: "https is not supported (no TLS library in trace-compat): use the node's http admin address")
            }
            guard lower.hasPrefix("http://") else { return nil }
            guard let c = URLComponents(string: text), let host = c.host, !host.isEmpty else {
                throw FetchError(description: "not a valid URL")
            }
            let path = c.percentEncodedPath.isEmpty ? "/" : c.percentEncodedPath
            let query = c.percentEncodedQuery.map { "?" + $0 } ?? ""
            return Target(host: host, port: c.port ?? 80, path: path + query)
        }

        var hostHeader: String {
            let h = host.contains(":") ? "[\(host)]" : host
            return port == 80 ? h : "\(h):\(port)"
        }
    }

    /// One short reason for a failed fetch, for the operator's one line per node ("connection
    /// refused", "cannot resolve the host name") instead of NIO's nested error values.
    static func reason(_ error: any Error, timeoutSeconds: Double) -> String {
        switch error {
        case let e as FetchError:
            return e.description
        case let e as NIOConnectionError:
            if e.dnsAError != nil || e.dnsAAAAError != nil, e.connectionErrors.isEmpty { return "cannot resolve the host name" }
            if let io = e.connectionErrors.first?.error as? IOError { return String(cString: strerror(io.errnoCode)).lowercased() }
            return e.connectionErrors.first.map { "\($0.error)" } ?? "\(e)"
        case let e as IOError:
            return String(cString: strerror(e.errnoCode)).lowercased()
        case ChannelError.connectTimeout:
            return "no connection within \(timeoutSeconds) s"
        default:
            return "\(error)"
        }
    }

    /// The body of a 200 answer; throws `FetchError` (or NIO's connect error) otherwise.
    static func fetch(_ target: Target, timeoutSeconds: Double,
                      maxBytes: Int = ReportFetchLimits.maxReportBytes) async throws -> [UInt8] {
        let group = MultiThreadedEventLoopGroup.singleton
        let timeout = ReportFetchLimits.timeAmount(seconds: timeoutSeconds)
        let loop = group.next()
        let answer = loop.makePromise(of: [UInt8].self)
        let deadline = loop.scheduleTask(in: timeout) {
            answer.fail(FetchError(description: "no complete answer within \(timeoutSeconds) s"))
        }
        defer { deadline.cancel() }
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(ReportAnswerHandler(answer: answer, maxBytes: maxBytes))
                }
            }
        let connecting = bootstrap.connect(host: target.host, port: target.port)
        connecting.whenFailure { answer.fail($0) }
        connecting.whenSuccess { channel in
            var headers = HTTPHeaders()
            headers.add(name: "Host", value: target.hostHeader)
            headers.add(name: "Accept", value: "application/json")
            headers.add(name: "Connection", value: "close")
            let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: target.path, headers: headers)
            channel.write(HTTPClientRequestPart.head(head), promise: nil)
            channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
            answer.futureResult.whenComplete { _ in channel.close(promise: nil) }
        }
        return try await answer.futureResult.get()
    }
}

/// Collects one response body up to a bound and fulfils the promise with it (fails on a non-200,
/// on a body over the bound, and on a connection that ends before the answer does).
final class ReportAnswerHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    private let answer: EventLoopPromise<[UInt8]>
    private let maxBytes: Int
    private var body: [UInt8] = []
    private var status: HTTPResponseStatus = .ok

    init(answer: EventLoopPromise<[UInt8]>, maxBytes: Int) {
        self.answer = answer
        self.maxBytes = maxBytes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = head.status
        case .body(let chunk):
            guard body.count + chunk.readableBytes <= maxBytes else {
                answer.fail(ReportFetcher.FetchError(description: "answer larger than \(maxBytes) bytes"))
                context.close(promise: nil)
                return
            }
            body.append(contentsOf: chunk.readableBytesView)
        case .end:
            if status == .ok {
                answer.succeed(body)
            } else {
                answer.fail(ReportFetcher.FetchError(description: "answered HTTP \(status.code) \(status.reasonPhrase)"))
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        answer.fail(ReportFetcher.FetchError(description: "connection closed before the answer was complete"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        answer.fail(error)
        context.close(promise: nil)
    }
}
