import NIOCore

/// First in a client connection's pipeline (next to the socket). Inbound: tells
/// `ProxyServerHandler` that bytes arrived, before the HTTP decoder has a whole head
/// (`header_timeout` runs from a request's first byte and `body_timeout` measures silence, which
/// decoded parts alone cannot show: a head trickled one byte a second produces no part until it
/// is complete). Outbound: the byte relay's way to the socket, beneath NIO's response encoder, for
/// the agent's answers as read (`write`), in order with the proxy's own encoded answers.
final class ClientBytesObserver: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    weak var handler: ProxyServerHandler?
    private var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        handler?.clientBytesArrived()
        context.fireChannelRead(data)
    }

    /// Bytes for the client, as they are (flushed with the connection's next flush).
    func write(_ bytes: ByteBuffer) {
        context?.write(wrapOutboundOut(bytes), promise: nil)
    }

    /// Flushes what was written, and closes the connection once it is on the socket.
    func flushThenClose() {
        guard let context else { return }
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(capacity: 0))).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }
}
