import CompatReport
import Foundation
import NIOCore
import Testing
@testable import TraceCompatProxy

extension SocketSuites {
/// Admin pages fetched in a loop do not slow forwarding down: they are rendered off the event
/// loops, at most once a second (`AdminRenderer`).
@Suite(.serialized) struct AdminLoadTests {
    /// A report of 3,000 finding groups (rendered on an event loop, each fetch took most of a
    /// second and forwarding p99 went from 3 ms to 813 ms). Two threads fetch
    /// `/compat/report.html`, `/metrics` and `/compat/report.json` in a loop while traces are
    /// posted. Asserted twice, so that the test fails for the right reason and never for the
    /// machine's own load:
    /// - the mechanism: every render ran off the event loops, and at most one per route per
    ///   `adminSnapshotMaxAge` however many fetches came (counted by `AdminRenderer`);
    /// - the effect: quiet and admin-loaded blocks of 100 requests alternate (so other builds on
    ///   the shared 2-core machine drift into both) and the median of the loaded blocks' p99s stays
    ///   within 50 ms of the quiet blocks'. Quiet p99 alone ranged 1.5 to 62 ms on that machine, so
    ///   a few-ms bound failed one run in three from noise; 50 ms still catches the +810 ms that
    ///   rendering on the loop cost. The fetchers use blocking sockets on their own threads, so that
    ///   reading the pages does not run on the proxy's event loops.
    @Test(.timeLimit(.minutes(2))) func fetchingAdminPagesInALoopLeavesForwardingP99AsQuiet() async throws {
        // The default analysis_priority (idle): the render thread runs SCHED_IDLE, on CPU the
        // event loops do not want.
        let harness = try await ProxyHarness.start()
        harness.store.record(Self.findings(3000))
        let port = harness.address.port!
        let started = ContinuousClock.now
        let rendered = try Self.fetch(port: port, path: "/compat/report.html")
        #expect(rendered.count > 1_000_000, "a report big enough to matter: \(rendered.count) bytes")

        let active = Flag()
        let stop = Flag()
        let fetched = Counter()
        for index in 0..<2 {
            Thread {
                // The fetchers are the test's own load, not the proxy's: at nice 10, with a 100 ms
                // pause (dashboards polling hard), so that on 2 cores the test reading megabytes
                // does not take the CPU from the event loops it measures.
                AnalysisPriority.low.applyToCurrentThread()
                let paths = ["/compat/report.html", "/metrics", "/compat/report.json"]
                var n = index
                while !stop.isSet {
                    guard active.isSet else { Thread.sleep(forTimeInterval: 0.01); continue }
                    if (try? Self.fetch(port: port, path: paths[n % paths.count])) != nil { fetched.add() }
                    n += 1
                    Thread.sleep(forTimeInterval: 0.1)
                }
            }.start()
        }
        var quiet: [Duration] = [], loaded: [Duration] = []
        let deadline = ContinuousClock.now + .seconds(40)
        while loaded.count < 6 || (fetched.value < 4 && ContinuousClock.now < deadline) {
            active.clear()
            try await Task.sleep(for: .milliseconds(150))
            quiet.append(Self.p99(try await Self.forwardingLatencies(harness, requests: 100)))
            active.set()
            try await Task.sleep(for: .milliseconds(150))
            loaded.append(Self.p99(try await Self.forwardingLatencies(harness, requests: 100)))
        }
        stop.set()
        try await Task.sleep(for: .milliseconds(300))
        let elapsed = ContinuousClock.now - started
        let renderer = harness.proxy.shared.renderer.renderStatistics
        let routes = 3  // the fetchers' three paths
        // One render per route per started second, and the first one.
        let allowed = routes * (Int(elapsed / .seconds(1)) + 1) + 1
        #expect(fetched.value >= 4, "admin pages were fetched meanwhile (\(fetched.value))")
        #expect(renderer.onEventLoop == 0, "\(renderer.onEventLoop) of \(renderer.renders) renders ran on an event loop")
        #expect(renderer.renders >= 3 && renderer.renders <= allowed,
                "\(renderer.renders) renders for \(fetched.value) fetches in \(elapsed) (at most \(allowed))")
        let (quietP99, loadedP99) = (Self.median(quiet), Self.median(loaded))
        #expect(loadedP99 <= quietP99 + .milliseconds(50),
                "median block p99 quiet \(quietP99), with admin fetches \(loadedP99) (blocks: quiet \(quiet), loaded \(loaded))")
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

    static func median(_ values: [Duration]) -> Duration {
        values.sorted()[values.count / 2]
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
        func clear() { lock.lock(); value = false; lock.unlock() }
    }

    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var count = 0
        var value: Int { lock.lock(); defer { lock.unlock() }; return count }
        func add() { lock.lock(); count += 1; lock.unlock() }
    }
}}

