import NIOCore

/// What an upstream connection reports to the exchange currently using it (on its event loop).
protocol UpstreamResponseDelegate: AnyObject {
    /// The answer's head as the agent sent it (`bytes`), and what was read of it.
    func upstreamResponseHead(_ head: ScannedResponseHead, bytes: ByteBuffer)
    /// Body bytes as the agent sent them.
    func upstreamResponseBody(_ body: ByteBuffer)
    /// De-chunked data of a chunked body, when asked for (`expectAnswer(collectsData:)`).
    func upstreamResponseData(_ data: ByteBuffer)
    func upstreamResponseEnd(keepAlive: Bool)
    /// The end of one read batch from the agent: the parts relayed since are flushed to the client.
    func upstreamReadComplete()
    func upstreamClosed()
    func upstreamWritabilityChanged(isWritable: Bool)
}

/// The last handler of an upstream connection's pipeline: reads the agent's bytes with an
/// `AnswerRelay` (no HTTP decoder) and hands the answer, as the bytes read, to the exchange that
/// leased the connection. Requests go out as bytes too (written by the exchange to the channel).
final class UpstreamRelayHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    weak var delegate: (any UpstreamResponseDelegate)?
    private var answer = AnswerRelay()

    /// The leasing exchange's request is about to go out: read the next bytes as its answer.
    /// `answersHead`: the request is HEAD (no body follows the head, RFC 9110 §9.3.2).
    func expectAnswer(answersHead: Bool, collectsData: Bool) {
        answer.expectAnswer(answersHead: answersHead, collectsData: collectsData)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var failed = false
        answer.read(unwrapInboundIn(data)) { event in
            switch event {
            case .head(let head, let bytes): delegate?.upstreamResponseHead(head, bytes: bytes)
            case .body(let body): delegate?.upstreamResponseBody(body)
            case .data(let data): delegate?.upstreamResponseData(data)
            case .end(let reusable):
                let delegate = self.delegate
                self.delegate = nil
                delegate?.upstreamResponseEnd(keepAlive: reusable)
            case .invalid: failed = true
            }
        }
        // A malformed answer, or bytes nobody asked for: closing reports `upstreamClosed`.
        if failed { context.close(promise: nil) }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        delegate?.upstreamReadComplete()
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        let delegate = self.delegate
        self.delegate = nil
        if case .end(let reusable)? = answer.closed() {
            delegate?.upstreamResponseEnd(keepAlive: reusable)  // a body read until the close
            delegate?.upstreamReadComplete()
        } else {
            delegate?.upstreamClosed()
        }
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        delegate?.upstreamWritabilityChanged(isWritable: context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A reset: closing reports `upstreamClosed` to the exchange.
        context.close(promise: nil)
    }
}
