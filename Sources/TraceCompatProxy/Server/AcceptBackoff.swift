import Logging
import NIOCore

/// NIO's `AcceptBackoffHandler` (which the future-based `ServerBootstrap.bind` does not add),
/// with one log line per episode. When `accept(2)` fails with EMFILE/ENFILE (no file descriptor
/// left), the listening socket stays readable: without a pause the event loop retries at once,
/// forever, burning a core while nothing can be accepted. Accepting pauses for
/// `ProxyLimits.acceptBackoff` after each failure; connections already open are served as usual.
enum AcceptBackoff {
    /// The handlers for a listening channel's pipeline: the backoff, then `EpisodeEnd`, which
    /// notes the first accept that succeeds again.
    static func handlers(logger: Logger, listener: String) -> (AcceptBackoffHandler, EpisodeEnd) {
        let episode = Episode(logger: logger, listener: listener)
        let backoff = AcceptBackoffHandler(shouldForwardIOErrorCaught: false) { error in
            episode.failed(error)
            return ProxyLimits.acceptBackoff
        }
        return (backoff, EpisodeEnd(episode))
    }

    /// Whether accepting is failing now; logs the start and the end of each episode once.
    /// Only used on the listener's event loop.
    final class Episode: @unchecked Sendable {
        let logger: Logger
        let listener: String
        var failures = 0

        init(logger: Logger, listener: String) {
            self.logger = logger
            self.listener = listener
        }

        func failed(_ error: IOError) {
            failures += 1
            guard failures == 1 else { return }
            logger.error("cannot accept connections on \(listener): \(error) (out of file descriptors? raise the limit: ulimit -n); pausing accepts \(ProxyLimits.acceptBackoff.nanoseconds / 1_000_000) ms at a time, open connections are still served")
        }

        func accepted() {
            guard failures > 0 else { return }
            logger.notice("accepting connections on \(listener) again after \(failures) failed attempts")
            failures = 0
        }
    }

    /// Sits after the backoff handler: a child channel read means an accept succeeded.
    final class EpisodeEnd: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = any Channel
        let episode: Episode

        init(_ episode: Episode) { self.episode = episode }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            episode.accepted()
            context.fireChannelRead(data)
        }
    }
}
