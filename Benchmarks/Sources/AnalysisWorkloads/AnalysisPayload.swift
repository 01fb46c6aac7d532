import CompatReport
import DecoderWorkloads
import Foundation
import TraceAnalysis
import TracePayload

/// One fixture trace payload as the proxy hands it to analysis: the request with its captured
/// headers (`*.headers.json`) and body, the same bytes msgpack-c unpacks on the other side.
public struct AnalysisPayload: Sendable {
    public var name: String
    public var request: CapturedRequest

    /// Every `*.msgpack` of the fixtures, with the `*.headers.json` beside it, named after its folder.
    public static func fixtures() -> [AnalysisPayload] {
        BenchmarkPayload.fixtures().map { payload in
            AnalysisPayload(name: payload.name, request: request(for: payload))
        }
    }

    /// The captured request whose body is `payload.bytes` (its headers file, else a bare request).
    static func request(for payload: BenchmarkPayload) -> CapturedRequest {
        let root = BenchmarkPayload.fixturesDirectory().appendingPathComponent(payload.name)
        let files = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        let body = files.sorted().first { $0.hasSuffix(".msgpack") }!
        let headers = String(body.dropLast(".msgpack".count)) + ".headers.json"
        var request = try! CaptureSet.load(headers: files.contains(headers) ? root.appendingPathComponent(headers).path : nil,
                                           body: root.appendingPathComponent(body).path)
        precondition(request.body == payload.bytes)
        // A fixed time: the analysis of the same request must not depend on when the file was copied.
        request.receivedAt = Date(timeIntervalSince1970: 1_764_000_000)
        return request
    }
}

/// Our side: one captured request through the `Analyzer` (decode, rules, findings folded), and
/// every `handOverEvery`-th time the hand-over to the store, so that its cost is in the count
/// without depending on the clock (callgrind runs ~50× slower, which would multiply time-based
/// hand-overs). 1,000: what a thread analysing 1,000 payloads/s does with its one-second interval
/// (`AnalysisLimits.handOverInterval`).
@inline(never)
public func analyseOurs(_ analyzer: Analyzer, _ request: CapturedRequest, iteration: Int) -> Int {
    let ok = analyzer.analyze(request).decodeError == nil
    if iteration % handOverEvery == handOverEvery - 1 { analyzer.handOverNow() }
    return ok ? request.body.count : -1
}

/// Payloads between two hand-overs in the benchmark (see `analyseOurs`).
public let handOverEvery = 1_000

/// An analyzer that hands over only when `analyseOurs` (or a snapshot) says so.
public func benchmarkAnalyzer(_ store: ReportStore) -> Analyzer {
    Analyzer(store: store, handOverInterval: .max)
}
