import CompatReport
import Foundation
import Testing
import TraceCompatProxy
#if canImport(Glibc)
import Glibc
#endif

/// `analysis_priority`: the analysis threads really run below the event loops.
@Suite(.serialized) struct AnalysisPriorityTests {
    /// Runs `body` on a new thread (policies and nice values are per thread on Linux).
    func onNewThread<T: Sendable>(_ body: @escaping @Sendable () -> T) -> T {
        let done = NSCondition()
        nonisolated(unsafe) var result: T?
        let thread = Thread {
            let value = body()
            done.lock(); result = value; done.signal(); done.unlock()
        }
        thread.start()
        done.lock()
        while result == nil { done.wait() }
        done.unlock()
        return result!
    }

    /// Scheduling policy (field 41 of /proc/self/task/TID/stat) of every thread of this process.
    func threadPolicies() throws -> [Int] {
        let tasks = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")
        return tasks.compactMap { tid in
            guard let stat = try? String(contentsOfFile: "/proc/self/task/\(tid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return nil }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 38 ? Int(fields[38]) : nil  // fields[0] is field 3 (state)
        }
    }

    @Test func idleIsSchedIdleAndLowIsNice10() {
        let idle = onNewThread { (AnalysisPriority.idle.applyToCurrentThread(), sched_getscheduler(0)) }
        #expect(idle.0)
        #expect(idle.1 == 5, "SCHED_IDLE")
        let low = onNewThread { (AnalysisPriority.low.applyToCurrentThread(), sched_getscheduler(0), getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)) }
        #expect(low.0)
        #expect(low.1 == 0, "SCHED_OTHER")
        #expect(low.2 == 10)
    }

    @Test func theQueueThreadsRunAtTheConfiguredPriority() throws {
        func idleThreads() throws -> Int { try threadPolicies().filter { $0 == 5 }.count }
        /// Polls (threads set their policy as they start, and take a moment to exit).
        func waitFor(_ done: (Int) -> Bool) throws -> Int {
            var count = try idleThreads()
            for _ in 0..<200 where !done(count) {
                Thread.sleep(forTimeInterval: 0.01)
                count = try idleThreads()
            }
            return count
        }
        let before = try waitFor { $0 == 0 }
        let queue = AnalysisQueue(capacity: 4, threads: 2, priority: .idle, store: ReportStore())
        let running = try waitFor { $0 >= before + 2 }
        queue.drain()
        let stopped = try waitFor { $0 <= running - 2 }
        #expect(running - stopped == 2, "the 2 analysis threads, and only they, ran SCHED_IDLE")
        #expect(ProxyConfiguration().analysisPriority == .idle)
        #expect(AnalysisPriority(rawValue: "low") == .low && AnalysisPriority(rawValue: "nice") == nil)
    }

    /// Kernel names of this process's threads (`/proc/self/task/TID/comm`).
    func threadNames() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").compactMap { tid in
            (try? String(contentsOfFile: "/proc/self/task/\(tid)/comm", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    /// The analysis threads carry kernel names (pthread_setname_np), which the benchmark harness
    /// and `top -H` read: one `tc-analysis-N` per thread, and idle reported when nothing is queued.
    @Test func theQueueThreadsAreNamedAndIdleIsReported() throws {
        let before = try threadNames().filter { $0.hasPrefix("tc-analysis-") }.count
        let queue = AnalysisQueue(capacity: 4, threads: 2, priority: .idle, store: ReportStore())
        var named: [String] = []
        for _ in 0..<300 {
            named = try threadNames().filter { $0.hasPrefix("tc-analysis-") }
            if named.count >= before + 2 { break }
            Thread.sleep(forTimeInterval: 0.01)
        }
        #expect(named.filter { $0 == "tc-analysis-0" }.count >= 1 && named.filter { $0 == "tc-analysis-1" }.count >= 1, "\(named)")
        queue.waitUntilIdle()
        #expect(queue.activity == AnalysisQueue.Activity(queued: 0, inFlight: 0))
        #expect(queue.activity.idle)
        queue.drain()
    }
}
