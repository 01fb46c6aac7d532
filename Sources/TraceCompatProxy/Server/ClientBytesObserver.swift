import NIOCore

/// First in a client connection's pipeline: tells `ProxyServerHandler` that bytes arrived,
/// before the HTTP decoder has a whole head. `header_timeout` runs from a request's first byte
/// and `body_timeout` measures silence, which decoded parts alone cannot show (a head trickled
/// one byte a second produces no part until it is complete).
final class ClientBytesObserver: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let handler: ProxyServerHandler

    init(_ handler: ProxyServerHandler) { self.handler = handler }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        handler.clientBytesArrived()
        context.fireChannelRead(data)
    }
}
