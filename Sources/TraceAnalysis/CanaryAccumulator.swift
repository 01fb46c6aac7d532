import CompatReport
import MessagePack
import TracePayload

/// The canary profiles (V4-CANARY-DIFF) one analyzer folds between two hand-overs: per
/// application and tracer major version, traces, spans per operation and the meta / metrics keys
/// on them, keyed by hashes so that a known operation and key cost a lookup and no allocation.
///
/// Bounded per hand-over by `CanaryLimits` (operations and keys beyond go to "other", as the
/// store does); applications are the analyzer's bounded app slots.
struct CanaryAccumulator {
    struct Operation {
        var op: CanaryOperation
        var meta = Keys()
        var metrics = Keys()
    }
    /// Keys counted by hash, in first-seen order; beyond `CanaryLimits.keys`, in key "other".
    struct Keys {
        var index: [UInt64: Int] = [:]
        var counts: [(String, Int)] = []

        @inline(__always)
        mutating func count(_ k: ByteView) {
            let h = byteHash(k)
            if let i = index[h] { counts[i].1 += 1; return }
            if counts.count < CanaryLimits.keys {
                index[h] = counts.count
                counts.append((k.string, 1))
            } else {
                let other = byteHash(ReportLimits.other)
                if let i = index[other] { index[h] = i; counts[i].1 += 1; return }
                index[other] = counts.count
                index[h] = counts.count
                counts.append((ReportLimits.other, 1))
            }
        }
    }
    struct Profile {
        var app: String
        var major: String
        var traces = 0
        var spans = 0
        var lastTrace = -1
        var index: [UInt64: Int] = [:]
        var operations: [Operation] = []
    }
    var slots: [UInt64: Int] = [:]
    var profiles: [Profile] = []

    var isEmpty: Bool { profiles.isEmpty }

    /// Counts one span of `app` (hash `appHash`) under tracer `major`, in trace number `trace`
    /// (unique across payloads).
    @inline(__always)
    mutating func add(_ span: borrowing SpanView, app: String, appHash: UInt64, major: String, majorHash: UInt64, trace: Int,
                      component: ByteView, strings: inout StringCache) {
        let ph = appHash &* 31 &+ majorHash
        let p: Int
        if let s = slots[ph] { p = s } else {
            p = profiles.count
            profiles.append(Profile(app: app, major: major))
            slots[ph] = p
        }
        if profiles[p].lastTrace != trace { profiles[p].traces += 1; profiles[p].lastTrace = trace }
        profiles[p].spans += 1
        let service = span.service, name = span.name, type = span.type
        let sh = byteHash(service), nh = byteHash(name), th = byteHash(type), ch = byteHash(component)
        var oh = sh &* 31 &+ nh
        oh = (oh &* 31 &+ th) &* 31 &+ ch
        let o: Int
        if let i = profiles[p].index[oh] { o = i } else if profiles[p].operations.count < CanaryLimits.operations {
            o = profiles[p].operations.count
            profiles[p].operations.append(Operation(op: CanaryOperation(
                service: strings.string(service, hash: sh), name: strings.string(name, hash: nh),
                type: strings.string(type, hash: th), component: strings.string(component, hash: ch))))
            profiles[p].index[oh] = o
        } else {
            let other = byteHash(ReportLimits.other)
            if let i = profiles[p].index[other] { o = i } else {
                o = profiles[p].operations.count
                profiles[p].operations.append(Operation(op: CanaryOperation(service: ReportLimits.other, name: ReportLimits.other, type: "", component: "")))
                profiles[p].index[other] = o
            }
            profiles[p].index[oh] = o
        }
        profiles[p].operations[o].op.spans += 1
        span.meta.forEach { k, _ in profiles[p].operations[o].meta.count(k) }
        span.metrics.forEach { k, _ in profiles[p].operations[o].metrics.count(k) }
    }

    /// What was folded, as the report's canary section, and a fresh start; nil when nothing.
    mutating func take() -> [String: CanaryApp]? {
        guard !profiles.isEmpty else { return nil }
        var out: [String: CanaryApp] = [:]
        for p in profiles {
            var profile = CanaryProfile(traces: p.traces, spans: p.spans)
            for var o in p.operations {
                for (k, n) in o.meta.counts { o.op.meta[k, default: 0] += n }
                for (k, n) in o.metrics.counts { o.op.metrics[k, default: 0] += n }
                profile.operations.append(o.op)
            }
            out[p.app, default: CanaryApp()].versions[p.major, default: CanaryProfile()].absorb(profile)
        }
        slots.removeAll(keepingCapacity: true)
        profiles.removeAll(keepingCapacity: true)
        return out
    }
}
