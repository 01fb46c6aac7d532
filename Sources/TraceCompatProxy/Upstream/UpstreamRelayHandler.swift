import NIOCore
import NIOHTTP1

/// What an upstream connection reports to the exchange currently using it (on its event loop).
protocol UpstreamResponseDelegate: AnyObject {
    func upstreamResponseHead(_ head: HTTPResponseHead)
    func upstreamResponseBody(_ body: ByteBuffer)
    func upstreamResponseEnd(keepAlive: Bool)
    /// The end of one read batch from the agent: the parts relayed since are flushed to the client.
    func upstreamReadComplete()
    func upstreamClosed()
    func upstreamWritabilityChanged(isWritable: Bool)
}

/// The last handler of an upstream connection's pipeline: hands the agent's answer, part by
/// part, to the exchange that leased the connection. It holds no state beyond keep-alive.
final class UpstreamRelayHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    weak var delegate: (any UpstreamResponseDelegate)?
    private var keepAlive = true

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            keepAlive = head.isKeepAlive
            delegate?.upstreamResponseHead(head)
        case .body(let body):
            delegate?.upstreamResponseBody(body)
        case .end:
            let delegate = self.delegate
            self.delegate = nil
            delegate?.upstreamResponseEnd(keepAlive: keepAlive)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        delegate?.upstreamReadComplete()
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        let delegate = self.delegate
        self.delegate = nil
        delegate?.upstreamClosed()
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        delegate?.upstreamWritabilityChanged(isWritable: context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A reset or a malformed answer: closing reports `upstreamClosed` to the exchange.
        context.close(promise: nil)
    }
}
