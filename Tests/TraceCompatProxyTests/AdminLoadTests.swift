import CompatReport
import Foundation
import NIOCore
import Testing
import TraceCompatProxy

/// Admin pages fetched in a loop do not slow forwarding down: they are rendered off the event
/// loops, at most once a second (`AdminRenderer`).
@Suite(.serialized) struct AdminLoadTests {
    /// A report of 3,000 finding groups (rendered on an event loop, each fetch took most of a
    /// second and forwarding p99 went from 3 ms to 813 ms). Forwarding p99 is measured quiet,
    /// then while two threads fetch `/compat/report.html`, `/metrics` and `/compat/report.json`
    /// without pause, in the same test. The tolerance, quiet p99 + 5 ms, is the issue's "within
    /// a few ms": loose enough for a shared 2-core machine where other builds run, two orders of
    /// magnitude below what rendering on the loop costs. The fetchers use blocking sockets on
    /// their own threads, so that reading the pages does not run on the proxy's event loops.
    @Test(.timeLimit(.minutes(2))) func fetchingAdminPagesInALoopLeavesForwardingP99AsQuiet() async throws {
        // The render thread at nice 10 rather than SCHED_IDLE: on a busy machine SCHED_IDLE would
        // hardly render at all during the test, and a thread that competes is the harder case.
        let harness = try await ProxyHarness.start { $0.analysisPriority = .low }
        harness.store.record(Self.findings(3000))
        let port = harness.address.port!
        let rendered = try Self.fetch(port: port, path: "/compat/report.html")
        #expect(rendered.count > 1_000_000, "a report big enough to matter: \(rendered.count) bytes")

        let quiet = try await Self.forwardingLatencies(harness, requests: 300)
        let stop = Flag()
        let fetched = Counter()
        let fetchers = (0..<2).map { index in
            let thread = Thread {
                let paths = ["/compat/report.html", "/metrics", "/compat/report.json"]
                var n = index
                while !stop.isSet {
                    if (try? Self.fetch(port: port, path: paths[n % paths.count])) != nil { fetched.add() }
                    n += 1
                }
            }
            thread.start()
            return thread
        }
        _ = fetchers
        try await Task.sleep(for: .milliseconds(200))
        // At least 300 requests, and on until the fetchers got 4 pages (renders included).
        var loaded: [Duration] = []
        let deadline = ContinuousClock.now + .seconds(30)
        while loaded.count < 300 || (fetched.value < 4 && ContinuousClock.now < deadline) {
            loaded += try await Self.forwardingLatencies(harness, requests: 100)
        }
        stop.set()
        try await Task.sleep(for: .milliseconds(300))
        let (quietP99, loadedP99) = (Self.p99(quiet), Self.p99(loaded))
        #expect(fetched.value >= 4, "admin pages were fetched meanwhile (\(fetched.value))")
        #expect(loadedP99 <= quietP99 + .milliseconds(5), "forwarding p99 quiet \(quietP99), with admin fetches \(loadedP99) (\(fetched.value) fetches)")
        await harness.stop()
    }

    /// Many fetches within a second render once: they get the same cached bytes.
    @Test func fetchesWithinASecondShareOneRender() async throws {
        let harness = try await ProxyHarness.start()
        harness.store.record(Self.findings(10))
        let port = harness.address.port!
        let first = try Self.fetch(port: port, path: "/compat/report.json")
        harness.store.record(Self.findings(20))
        let second = try Self.fetch(port: port, path: "/compat/report.json")
        #expect(first == second, "served from the cache")
        try await Task.sleep(for: .milliseconds(1100))
        let third = try Self.fetch(port: port, path: "/compat/report.json")
        #expect(third != first, "at most a second old")
        await harness.stop()
    }

    static func findings(_ count: Int) -> Report {
        var report = Report()
        let now = ReportTime(Date())
        report.findings = (0..<count).map { index in
            Finding(rule: .tagRepr, service: "service-\(index % 40)", operation: "django.request", resource: "GET /orders/\(index)",
                    key: "user.tag_\(index)", kind: "bool", firstSeen: now)
        }
        return report
    }

    static func forwardingLatencies(_ harness: ProxyHarness, requests: Int) async throws -> [Duration] {
        let client = try await TestClient.connect(harness.address)
        var latencies: [Duration] = []
        for _ in 0..<requests {
            let started = ContinuousClock.now
            let answer = try await client.send(.POST, "/v0.4/traces", body: [0x90])
            latencies.append(ContinuousClock.now - started)
            #expect(answer.status == 200)
        }
        await client.close()
        return latencies
    }

    static func p99(_ latencies: [Duration]) -> Duration {
        let sorted = latencies.sorted()
        return sorted[min(sorted.count - 1, Int(Double(sorted.count) * 0.99))]
    }

    /// `GET path` with `Connection: close` on a blocking socket; the whole answer's bytes.
    static func fetch(port: Int, path: String) throws -> [UInt8] {
        let fd = try ResilienceProcessTests.connectBlocking(port: port)
        defer { close(fd) }
        let request = Array("GET \(path) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8)
        guard write(fd, request, request.count) == request.count else { throw POSIXError(.EIO) }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            answer.append(contentsOf: buffer[..<n])
        }
        guard let end = answer.firstRange(of: Array("\r\n\r\n".utf8)) else { throw POSIXError(.EIO) }
        return Array(answer[end.upperBound...])
    }

    final class Flag: @unchecked Sendable {
        private let lock = NSLock()
        private var value = false
        var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
        func set() { lock.lock(); value = true; lock.unlock() }
    }

    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var count = 0
        var value: Int { lock.lock(); defer { lock.unlock() }; return count }
        func add() { lock.lock(); count += 1; lock.unlock() }
    }
}
