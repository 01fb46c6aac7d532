import NIOCore

/// First in a client connection's pipeline (next to the socket), outbound only: the byte
/// relay's way to the socket, beneath NIO's response encoder, for the agent's answers as read
/// (`write`), in order with the proxy's own encoded answers (`LocalAnswer`, the only parts that
/// go through the encoder).
final class ClientSocketWriter: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

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
