import Logging
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// Pauses accepting on a listener while `accept(2)` fails for lack of resources (EMFILE, ENFILE,
/// ENOBUFS, ENOMEM), with one log line per episode.
///
/// At the fd limit the listening socket stays readable (the connections wait in the backlog),
/// so retrying at once spins the event loop on failing accepts: a whole core while nothing can
/// be accepted. NIO ships `AcceptBackoffHandler` for this, but it only delays the *next*
/// `read()`, and in this NIO (2.101, `ServerSocketChannel.readFromSocket`) `readPending` is
/// cleared only when an accept succeeds: when the first accept of a wake-up fails, no `read()`
/// is ever issued, the channel stays registered for readability, and epoll wakes it again at
/// once (measured: 18,799 failed accepts in 3 s with it in the pipeline). So this handler turns
/// `autoRead` off, which takes the listener out of epoll, and back on after
/// `ProxyLimits.acceptBackoff`. Connections already open are served as usual meanwhile.
final class AcceptBackoff: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = any Channel
    typealias InboundOut = any Channel

    let logger: Logger
    let listener: String
    let pause: TimeAmount
    /// Failed accepts in the current episode (0: accepting works).
    private(set) var failures = 0
    private var resume: Scheduled<Void>?

    init(logger: Logger, listener: String, pause: TimeAmount = ProxyLimits.acceptBackoff) {
        self.logger = logger
        self.listener = listener
        self.pause = pause
    }

    /// The errors worth waiting out (the ones NIO's ServerSocketChannel does not close on).
    static func isResourceShortage(_ error: any Error) -> Bool {
        guard let error = error as? IOError else { return false }
        return [EMFILE, ENFILE, ENOBUFS, ENOMEM].contains(error.errnoCode)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if failures > 0 {
            logger.notice("accepting connections on \(listener) again after \(failures) failed attempts")
            failures = 0
        }
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard Self.isResourceShortage(error) else { return context.fireErrorCaught(error) }
        failures += 1
        if failures == 1 {
            logger.error("cannot accept connections on \(listener): \(error) (out of file descriptors? raise the limit: ulimit -n); retrying every \(pause.nanoseconds / 1_000_000) ms, open connections are still served")
        }
        guard resume == nil, let options = context.channel.syncOptions else { return }
        try? options.setOption(ChannelOptions.autoRead, value: false)
        resume = context.eventLoop.assumeIsolated().scheduleTask(in: pause) { [self] in
            resume = nil
            try? context.channel.syncOptions?.setOption(ChannelOptions.autoRead, value: true)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        resume?.cancel()
        resume = nil
        context.fireChannelInactive()
    }
}
