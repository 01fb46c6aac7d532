// analysis-profile: one fixture payload analysed in a loop, for callgrind (the load-independent
// measure of `make bench-analysis-instructions`) and quick checks.
//   swift run -c release analysis-profile ours|msgpack-c PAYLOAD-NAME [ITERATIONS]
//   swift run -c release analysis-profile cardinality PAYLOADS          (unique-resource replay)
//   swift run -c release analysis-profile cardinality-large MEGABYTES   (one payload of unique resources)
// `ours` runs the Analyzer (decode, every rule, findings into a ReportStore) on the request as
// the proxy hands it over; `msgpack-c` unpacks the same body with msgpack_unpack_next and walks it.
import AnalysisWorkloads
import CompatReport
import DecoderWorkloads
import Foundation
import MsgpackCBaseline
import TraceAnalysis

let args = CommandLine.arguments
if args.count >= 3, args[1] == "cardinality" || args[1] == "cardinality-large" {
    cardinality(large: args[1] == "cardinality-large", amount: Int(args[2]) ?? 150)
    exit(0)
}
guard args.count >= 3, ["ours", "msgpack-c"].contains(args[1]) else {
    FileHandle.standardError.write(Data("usage: analysis-profile ours|msgpack-c PAYLOAD-NAME [ITERATIONS]\n".utf8))
    exit(2)
}
let payloads = AnalysisPayload.fixtures()
guard let payload = payloads.first(where: { $0.name == args[2] }) else {
    FileHandle.standardError.write(Data("no payload \(args[2]); have: \(payloads.map(\.name))\n".utf8))
    exit(2)
}
let iterations = args.count > 3 ? Int(args[3]) ?? 100 : 100
let store = ReportStore()
let analyzer = benchmarkAnalyzer(store)
var sum = 0
// A warm-up of each side outside the measured function: the first calls pay one-time costs (type
// metadata, the store's first groups) that a running proxy pays once, not per payload. Ours: a
// payload, a hand-over (its first one instantiates ~1.2 M instructions of generic metadata) and
// a payload, so that the measured loop starts as a running thread's interval does.
_ = analyzer.analyze(payload.request)
analyzer.handOverNow()
_ = analyzer.analyze(payload.request)
payload.request.body.withUnsafeBytes { buffer in
    var s: UInt64 = 0, objects: UInt64 = 0
    _ = msgpack_baseline_decode(buffer.baseAddress!.assumingMemoryBound(to: CChar.self), buffer.count, &s, &objects)
}
let started = ContinuousClock.now
if args[1] == "ours" {
    for i in 0..<iterations { sum &+= analyseOurs(analyzer, payload.request, iteration: i) }
} else {
    payload.request.body.withUnsafeBytes { buffer in
        for _ in 0..<iterations { sum &+= Int(truncatingIfNeeded: decodeMsgpackC(buffer)) }
    }
}
let elapsed = ContinuousClock.now - started
let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
let report = store.snapshot()
print("\(args[1]) \(payload.name): \(payload.request.body.count) bytes x \(iterations): "
    + String(format: "%.1f µs per payload", seconds / Double(iterations) * 1e6)
    + " (checksum \(sum), \(report.traffic.spans) spans, \(report.findings.count) finding groups)")

/// The cardinality replay (Benchmarks/RESULTS.md, "Analysis"): the Django capture with unique
/// resources through the Analyzer and the store, then the report: its size, groups, exact
/// counts, the cost of a snapshot (what the periodic flush does) and the process's peak RSS.
func cardinality(large: Bool, amount: Int) {
    let django = AnalysisPayload.fixtures().first { $0.name == "django-full-v04" }!.request
    let store = ReportStore()
    let analyzer = benchmarkAnalyzer(store)
    var inputBytes = 0
    var iteration = 0
    var analysed = Duration.zero
    func analyse(_ r: CapturedRequest) {
        inputBytes += r.body.count
        let started = ContinuousClock.now
        _ = analyseOurs(analyzer, r, iteration: iteration)
        iteration += 1
        analysed += ContinuousClock.now - started
    }
    if large {
        analyse(UniqueResources.large(from: django, megabytes: amount))
    } else {
        UniqueResources.forEachPayload(from: django, count: amount, analyse)
    }
    let flushStarted = ContinuousClock.now
    let report = store.snapshot()
    let json = try! JSONEncoder().encode(report)
    let flush = ContinuousClock.now - flushStarted
    let idleStarted = ContinuousClock.now
    _ = try! JSONEncoder().encode(store.snapshot())  // the next periodic flush, nothing new
    let idleFlush = ContinuousClock.now - idleStarted
    let db = report.findings.filter { $0.rule == .djangoMinimal }
    let rss = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8))?
        .split(separator: "\n").first { $0.hasPrefix("VmHWM:") }.map { String($0.dropFirst(6)).trimmingCharacters(in: .whitespaces) } ?? "?"
    print("\(large ? "one payload of \(inputBytes / 1_000_000) MB" : "\(amount) payloads (\(inputBytes / 1_000_000) MB)"): "
        + "\(report.traffic.spans) spans, \(report.findings.count) finding groups (\(report.findings.filter(\.isOverflow).count) other), "
        + "V4-DJANGO-MINIMAL sum over groups \(db.reduce(0) { $0 + $1.count }), "
        + "report \(json.count / 1000) KB, analysis \(analysed), snapshot+encode \(flush), idle flush \(idleFlush), peak RSS \(rss)")
}
