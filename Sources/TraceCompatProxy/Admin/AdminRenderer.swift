import Foundation
import NIOCore
import NIOPosix

/// Answers the admin routes that render the whole report (`/compat/report*`, `/metrics`) off the
/// event loops, from a cache at most `maxAge` old.
///
/// Rendering a report of a few thousand finding groups takes most of a second: on an event loop
/// that stalled every connection served by it (forwarding p99 went from 3 ms to 813 ms while a
/// dashboard polled `/compat/report.html`). Here one thread renders, at the analysis threads'
/// priority (`analysis_priority`), each route at most once per `maxAge` however many fetches
/// come (fetches meanwhile get the cached answer, or join the render in progress), so the
/// render cost is bounded by the number of routes, not by the clients.
final class AdminRenderer: @unchecked Sendable {
    /// A rendered answer with its body already in a `ByteBuffer`: every fetch writes the same
    /// buffer (shared storage), so serving a cached page of megabytes copies nothing on the
    /// event loop.
    struct Answer: Sendable {
        let response: LocalResponse
        let body: ByteBuffer

        init(_ response: LocalResponse) {
            self.response = response
            self.body = ByteBuffer(bytes: response.body)
        }
    }

    let routes: AdminRoutes
    let maxAge: TimeAmount
    let priority: AnalysisPriority
    private let pool: NIOThreadPool
    private let lock = NSLock()
    private var cache: [String: (answer: Answer, renderedAt: NIODeadline)] = [:]
    private var rendering: [String: [EventLoopPromise<Answer>]] = [:]
    private var started = false
    private var renderCount = 0
    private var rendersOnEventLoop = 0

    /// How many renders ran, and how many of them on an event loop (must stay 0): the mechanism
    /// behind "admin pages do not slow forwarding", observable by tests independently of latency.
    var renderStatistics: (renders: Int, onEventLoop: Int) {
        lock.lock(); defer { lock.unlock() }
        return (renderCount, rendersOnEventLoop)
    }

    init(routes: AdminRoutes, maxAge: TimeAmount = ProxyLimits.adminSnapshotMaxAge, priority: AnalysisPriority) {
        self.routes = routes
        self.maxAge = maxAge
        self.priority = priority
        self.pool = NIOThreadPool(numberOfThreads: 1)
    }

    /// The answer to `method uri`, completed on `eventLoop`. Cheap answers (health, 404, 405)
    /// are rendered at once; the report and metrics come from the cache or the render thread.
    func respond(method: String, uri: String, on eventLoop: any EventLoop) -> EventLoopFuture<Answer> {
        let path = AdminRoutes.path(of: uri)
        guard method == "GET" || method == "HEAD", AdminRoutes.renderedPaths.contains(path) else {
            return eventLoop.makeSucceededFuture(Answer(routes.respond(method: method, uri: uri)))
        }
        let promise = eventLoop.makePromise(of: Answer.self)
        let now = NIODeadline.now()
        lock.lock()
        if let cached = cache[path], now - cached.renderedAt < maxAge {
            lock.unlock()
            promise.succeed(cached.answer)
            return promise.futureResult
        }
        if rendering[path] != nil {
            rendering[path]!.append(promise)
            lock.unlock()
            return promise.futureResult
        }
        rendering[path] = [promise]
        if !started {
            started = true  // on the first fetch: a proxy nobody asks for pages has no render thread
            pool.start()
        }
        lock.unlock()
        pool.submit { [self] state in
            let response: Answer
            if case .active = state {
                AnalysisQueue.nameCurrentThread(ProxyLimits.adminRenderThreadName)
                priority.applyToCurrentThread()
                response = Answer(routes.respond(method: "GET", uri: path))
            } else {
                response = Answer(LocalResponse(status: 503, json: #"{"error":"shutting_down"}"# + "\n"))
            }
            let onEventLoop = MultiThreadedEventLoopGroup.currentEventLoop != nil
            lock.lock()
            if case .active = state {
                cache[path] = (response, now)
                renderCount += 1
                if onEventLoop { rendersOnEventLoop += 1 }
            }
            let waiting = rendering.removeValue(forKey: path) ?? []
            lock.unlock()
            for waiter in waiting { waiter.succeed(response) }
        }
        return promise.futureResult
    }

    func shutdown() {
        lock.lock()
        let wasStarted = started
        started = true  // never started after shutdown
        lock.unlock()
        if wasStarted { pool.shutdownGracefully { _ in } }
    }
}
