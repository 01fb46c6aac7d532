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

    /// Scheduling policy (field 41) and nice value (field 19) of one thread of this process,
    /// from /proc/self/task/TID/stat; nil once the thread is gone.
    func schedule(ofThread tid: Int32) -> (policy: Int, nice: Int)? {
        guard let stat = try? String(contentsOfFile: "/proc/self/task/\(tid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")  // fields[0] is field 3 (state)
        guard fields.count > 38, let policy = Int(fields[38]), let nice = Int(fields[16]) else { return nil }
        return (policy, nice)
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

    /// Looks at this queue's own threads only (their kernel IDs, `threadIDs()`): other suites'
    /// queues run at the same time in the same process, so counting SCHED_IDLE threads
    /// process-wide could not tell whose they were.
    /// `nice` nil: the process's own (SCHED_IDLE keeps the nice value it inherits).
    @Test(arguments: [(AnalysisPriority.idle, 5, nil), (.low, 0, 10)] as [(AnalysisPriority, Int, Int?)])
    func theQueueThreadsRunAtTheConfiguredPriority(priority: AnalysisPriority, policy: Int, nice: Int?) throws {
        let inherited = Int(getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0))
        let nice = nice ?? inherited
        let queue = AnalysisQueue(capacity: 4, threads: 2, priority: priority, store: ReportStore())
        let tids = queue.threadIDs()
        #expect(tids.count == 2 && Set(tids).count == 2 && !tids.contains(-1), "\(tids)")
        for tid in tids {
            let seen = schedule(ofThread: tid)
            #expect(seen?.policy == policy && seen?.nice == nice, "thread \(tid): \(String(describing: seen))")
        }
        queue.drain()
        #expect(ProxyConfiguration().analysisPriority == .idle)
        #expect(AnalysisPriority(rawValue: "low") == .low && AnalysisPriority(rawValue: "nice") == nil)
    }

    /// The analysis threads carry kernel names (pthread_setname_np), which the benchmark harness
    /// and `top -H` read: one `tc-analysis-N` per thread (this queue's own, by kernel ID), and
    /// idle reported when nothing is queued.
    @Test func theQueueThreadsAreNamedAndIdleIsReported() throws {
        let queue = AnalysisQueue(capacity: 4, threads: 2, priority: .idle, store: ReportStore())
        let names = queue.threadIDs().map { tid in
            (try? String(contentsOfFile: "/proc/self/task/\(tid)/comm", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        #expect(names.sorted { ($0 ?? "") < ($1 ?? "") } == ["tc-analysis-0", "tc-analysis-1"], "\(names)")
        queue.waitUntilIdle()
        #expect(queue.activity == AnalysisQueue.Activity(queued: 0, inFlight: 0))
        #expect(queue.activity.idle)
        queue.drain()
    }
}
