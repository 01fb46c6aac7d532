import CompatReport
import CompatRules
import Foundation
import MessagePack
import Testing
import TracePayload
@testable import TraceAnalysis

/// A minimal msgpack writer for building v0.4 payloads in tests.
enum MP {
    static func str(_ s: String) -> [UInt8] {
        let u = Array(s.utf8)
        if u.count < 32 { return [0xa0 | UInt8(u.count)] + u }
        return [0xd9, UInt8(u.count)] + u
    }
    static func int(_ v: UInt64) -> [UInt8] {
        var out: [UInt8] = [0xcf]
        for i in (0..<8).reversed() { out.append(UInt8((v >> (UInt64(i) * 8)) & 0xff)) }
        return out
    }
    static func double(_ v: Double) -> [UInt8] {
        let b = v.bitPattern
        var out: [UInt8] = [0xcb]
        for i in (0..<8).reversed() { out.append(UInt8((b >> (UInt64(i) * 8)) & 0xff)) }
        return out
    }
    static func map(_ entries: [([UInt8], [UInt8])]) -> [UInt8] {
        [0x80 | UInt8(entries.count)] + entries.flatMap { $0.0 + $0.1 }
    }
    static func array(_ items: [[UInt8]]) -> [UInt8] { [0x90 | UInt8(items.count)] + items.flatMap { $0 } }

    /// A v0.4 span map.
    static func span(service: String = "svc", name: String, resource: String? = nil, id: UInt64 = 1, parent: UInt64 = 0,
                     error: Bool = false, meta: [String: String] = [:], metrics: [String: Double] = [:]) -> [UInt8] {
        var e: [([UInt8], [UInt8])] = [
            (str("service"), str(service)), (str("name"), str(name)), (str("resource"), str(resource ?? name)),
            (str("trace_id"), int(42)), (str("span_id"), int(id)), (str("parent_id"), int(parent)),
            (str("start"), int(1_700_000_000_000_000_000)), (str("duration"), int(1000)),
        ]
        if error { e.append((str("error"), [0x01])) }
        if !meta.isEmpty { e.append((str("meta"), map(meta.sorted { $0.key < $1.key }.map { (str($0.key), str($0.value)) }))) }
        if !metrics.isEmpty { e.append((str("metrics"), map(metrics.sorted { $0.key < $1.key }.map { (str($0.key), double($0.value)) }))) }
        return map(e)
    }
}

func traces(_ spans: [[UInt8]], lang: String? = "python", tracer: String = "3.19.9", python: String = "3.11.7") -> CapturedRequest {
    var headers: [(name: String, value: String)] = [("Datadog-Meta-Tracer-Version", tracer), ("Datadog-Meta-Lang-Version", python)]
    if let lang { headers.append(("Datadog-Meta-Lang", lang)) }
    return CapturedRequest(method: "POST", path: "/v0.4/traces", headers: headers, body: MP.array([MP.array(spans)]),
                           receivedAt: Date(timeIntervalSince1970: 1_700_000_000))
}

func telemetry(_ json: String) -> CapturedRequest {
    CapturedRequest(method: "POST", path: "/telemetry/proxy/api/v2/apmtelemetry", headers: [("Content-Type", "application/json")],
                    body: Array(json.utf8), receivedAt: Date(timeIntervalSince1970: 1_700_000_000))
}

func judge(_ requests: CapturedRequest...) -> Report {
    let store = ReportStore()
    let a = Analyzer(store: store)
    for r in requests { a.analyze(r) }
    return store.snapshot()
}

@Suite struct AnalyzerTests {
    @Test func damagedPayloadIsCountedWithReasonAndOffsetAndNothingElseIsLost() {
        var good = traces([MP.span(name: "a", meta: ["x": "True"])])
        let bad = CapturedRequest(method: "POST", path: "/v0.4/traces", headers: [("Datadog-Meta-Lang", "python")],
                                  body: Array(good.body.dropLast(3)), source: "cut.msgpack")
        let store = ReportStore()
        let a = Analyzer(store: store)
        let outcome = a.analyze(bad)
        #expect(outcome.decodeError != nil)
        #expect(outcome.decodeError!.offset > 0 && outcome.decodeError!.offset < good.body.count)
        good.source = "good"
        #expect(a.analyze(good).decodeError == nil)
        let r = store.snapshot()
        #expect(r.traffic.decodeErrors.count == 1)
        #expect(r.traffic.decodeErrors.samples.first?.source == "cut.msgpack")
        #expect(r.traffic.decodeErrors.samples.first?.reason.contains("truncated") == true)
        #expect(r.traffic.requestsByEndpoint["/v0.4/traces"] == 2)
        #expect(r.findings.count == 1 && r.traffic.spans == 1)
    }

    @Test func otherLanguagesAreCountedNotJudged() {
        let r = judge(traces([MP.span(name: "a", meta: ["x": "True"])], lang: "go"))
        #expect(r.findings.isEmpty)
        #expect(r.traffic.otherLanguages == ["go": 1])
        #expect(r.traffic.spans == 0)
        #expect(r.traffic.requestsByEndpoint["/v0.4/traces"] == 1)
    }

    /// The tracer headers are read again whenever a request's header array is another one (the
    /// analyzer reuses what it read only for the same array): one request's array changed in
    /// place between two payloads (a new buffer, copy on write), another language, then the
    /// first array again.
    @Test func eachRequestIsJudgedOnItsOwnTracerHeaders() {
        let python = traces([MP.span(service: "shop", name: "a")])
        var newer = python
        newer.headers[0].value = "3.20.0"
        var go = python
        go.headers[2].value = "go"
        let r = judge(python, python, newer, go, python, newer)
        #expect(r.services["shop"]?.tracerVersions == ["3.19.9": 3, "3.20.0": 2])
        #expect(r.traffic.otherLanguages == ["go": 1])
        #expect(r.traffic.spans == 5)
    }

    @Test func missingLanguageHeaderIsJudgedAsPython() {
        let r = judge(traces([MP.span(name: "a", meta: ["x": "[1, 2]"])], lang: nil))
        #expect(r.findings.map(\.rule) == [.tagRepr])
    }

    @Test func oldPythonAndOldTracerFromHeaders() {
        let r = judge(traces([MP.span(name: "a")], tracer: "2.21.0", python: "3.8.18"))
        #expect(r.findings.contains { $0.rule == .python && $0.kind == "3.8.18" && $0.severity == .breaks && $0.service == "svc" })
        #expect(r.findings.contains { $0.rule == .tracer && $0.kind == "2.21.0" })
        let ok = judge(traces([MP.span(name: "a")], tracer: "3.19.0", python: "3.9.0"))
        #expect(ok.findings.isEmpty)
    }

    @Test func removedAPIErrorsAreFoundAndOtherErrorsAreNot() {
        let failing = MP.span(name: "job", error: true, meta: ["error.type": "builtins.AttributeError",
                                                              "error.message": "'Span' object has no attribute 'set_tag_str'"])
        let other = MP.span(name: "job2", id: 2, error: true, meta: ["error.type": "builtins.AttributeError",
                                                                     "error.message": "'Foo' object has no attribute 'Pinned'"])
        let r = judge(traces([failing, other]))
        #expect(r.findings.filter { $0.rule == .removedAPI }.map(\.key) == ["set_tag_str"])
    }

    @Test func removedIntegrationAndOpenAISpans() {
        let redis = MP.span(name: "redis.command", meta: ["component": "aioredis"])
        let openai = MP.span(name: "openai.request", resource: "createChatCompletion", id: 2,
                             meta: ["component": "openai", "openai.request.model": "gpt-4o"])
        let r = judge(traces([redis, openai]))
        #expect(r.findings.contains { $0.rule == .integration && $0.key == "aioredis" && $0.kind == "span" })
        // Medium: without telemetry the openai version is unknown (spec revision "Installed packages").
        #expect(r.findings.contains { $0.rule == .openAIStream && $0.key == "gpt-4o" && $0.confidence == .medium })
    }

    @Test func djangoDatabaseSpanWithoutDriverTwinIsMarkedLost() {
        let db = MP.span(service: "defaultdb", name: "postgres.query", resource: "SELECT 1", id: 5,
                         meta: ["component": "django-database", "_dd.base_service": "shop"])
        let r = judge(traces([db]))
        let f = r.findings.first { $0.rule == .djangoMinimal }
        #expect(f?.kind == "database" && f?.twinSeen == 0 && f?.app == "shop")
        let twin = MP.span(service: "postgres", name: "postgres.query", resource: "SELECT 1", id: 6, parent: 5,
                           meta: ["component": "psycopg", "_dd.base_service": "shop"])
        let r2 = judge(traces([twin, db]))
        #expect(r2.findings.first { $0.rule == .djangoMinimal }?.twinSeen == 1)
        #expect(r2.services["shop"]?.spans == 2)
    }

    @Test func internalStructTagsAreReportedApart() {
        // meta_struct {"appsec": bin(msgpack {"a":1})}, {"my.tag": bin(...)}
        let value: [UInt8] = MP.map([(MP.str("a"), [0x01])])
        let ms = MP.map([(MP.str("_dd.stack"), [0xc4, UInt8(value.count)] + value), (MP.str("my.tag"), [0xc4, UInt8(value.count)] + value)])
        var span = MP.span(name: "s")
        span[0] += 1
        span += MP.str("meta_struct") + ms
        let r = judge(traces([span]))
        #expect(r.findings.filter { $0.rule == .structTag }.map(\.key) == ["my.tag"])
        #expect(r.findings.first { $0.rule == .structTag }?.samples.first?.valueType == "msgpack map")
        #expect(r.internalStructTags.map(\.key) == ["_dd.stack"])
        #expect(r.internalStructTags.first?.kind == "internal")
    }

    /// Old captures audited today: the report's window and the findings' times are when the
    /// traffic happened (span starts, telemetry tracer_time), not when the files were received.
    @Test func timesComeFromTheTrafficNotFromWhenItWasReceived() {
        let today = Date(timeIntervalSince1970: 1_800_000_000)
        var payload = traces([MP.span(name: "a", meta: ["x": "True"])], tracer: "2.9.0", python: "3.8.10")
        payload.receivedAt = today
        let spans = judge(payload)
        let spanTime: Int64 = 1_700_000_000_000  // MP.span's start, in ms
        #expect(spans.startedAt?.milliseconds == spanTime && spans.updatedAt?.milliseconds == spanTime)
        for rule in [RuleID.python, .tracer, .tagRepr] {
            #expect(spans.findings.first { $0.rule == rule }?.firstSeen.milliseconds == spanTime, "\(rule)")
        }
        var message = telemetry(#"{"request_type":"app-started","tracer_time":1600000000,"application":{"service_name":"api","language_name":"python","language_version":"3.8.10","tracer_version":"2.9.0"},"payload":{}}"#)
        message.receivedAt = today
        let told = judge(message)
        #expect(told.startedAt?.milliseconds == 1_600_000_000_000)
        #expect(told.findings.first { $0.rule == .tracer }?.firstSeen.milliseconds == 1_600_000_000_000)
        // Without times of its own (no tracer_time), the time of receipt.
        var untimed = telemetry(#"{"request_type":"app-started","application":{"service_name":"api","language_name":"python","language_version":"3.12.1","tracer_version":"3.19.9"},"payload":{}}"#)
        untimed.receivedAt = today
        #expect(judge(untimed).startedAt?.milliseconds == 1_800_000_000_000)
    }

    @Test func telemetryRules() {
        let json = """
        {"request_type":"message-batch","tracer_time":1700000000,
         "application":{"service_name":"api","language_name":"python","language_version":"3.8.10","tracer_version":"2.9.0"},
         "payload":[
          {"request_type":"app-started","payload":{"configuration":[
            {"name":"DD_PROFILING_STACK_V2_ENABLED","value":true,"origin":"default","seq_id":1},
            {"name":"DD_PROFILING_STACK_V2_ENABLED","value":false,"origin":"env_var","seq_id":2},
            {"name":"DD_EXCEPTION_REPLAY_ENABLED","value":true,"origin":"unknown","seq_id":3},
            {"name":"python_soabi","value":"cpython-38-i386-linux-gnu","origin":"unknown","seq_id":4},
            {"name":"DD_TRACE_API_VERSION","value":"v0.5","origin":"env_var","seq_id":5}]}},
          {"request_type":"app-integrations-change","payload":{"integrations":[
            {"name":"google_generativeai","enabled":true,"version":"0.8"},{"name":"freezegun","enabled":false},{"name":"django","enabled":true}]}}]}
        """
        let r = judge(telemetry(json))
        #expect(r.traffic.telemetryMessages == 1)
        let rules = Set(r.findings.map(\.rule))
        #expect(rules == [.python, .tracer, .config, .platform, .integration])
        let config = r.findings.filter { $0.rule == .config }
        #expect(config.contains { $0.key == "DD_PROFILING_STACK_V2_ENABLED" && $0.confidence == .high })
        #expect(config.contains { $0.key == "DD_EXCEPTION_DEBUGGING_ENABLED" && $0.confidence == .medium })
        #expect(r.findings.filter { $0.rule == .integration }.map(\.key) == ["google_generativeai"])
        #expect(r.services["api"]?.configuredAPIVersion == "v0.5")
    }

    @Test func unsetAPIVersionIsNotReported() {
        for value in ["null", "\"\""] {
            let r = judge(telemetry("""
            {"request_type":"app-started","tracer_time":1700000000,
             "application":{"service_name":"api","language_name":"python","language_version":"3.11.7","tracer_version":"3.19.9"},
             "payload":{"configuration":[{"name":"DD_TRACE_API_VERSION","value":\(value),"origin":"default","seq_id":1}]}}
            """))
            #expect(r.traffic.telemetryMessages == 1)
            #expect(r.services["api"] != nil && r.services["api"]?.configuredAPIVersion == nil, "\(value)")
        }
    }

    @Test func telemetryWithDefaultsIsQuiet() throws {
        // The real telemetry of the fixtures: 3.11, 3.19.9, defaults everywhere.
        let path = Fixtures.root + "/django-full-v04/002-POST-telemetry_proxy_api_v2_apmtelemetry.body.json"
        let body = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
        var req = telemetry("")
        req.body = body
        let r = judge(req)
        #expect(r.findings.isEmpty)
        #expect(r.services["shop"]?.tracerVersions == ["3.19.9": 1])
    }

    @Test func brokenTelemetryIsADecodeError() {
        let r = judge(telemetry("{\"request_type\": "))
        #expect(r.traffic.decodeErrors.count == 1)
        #expect(r.traffic.telemetryMessages == 0)
    }

    @Test func agentInfo() {
        let store = ReportStore()
        let a = Analyzer(store: store)
        a.analyzeAgentInfo(body: Array(#"{"version":"7.60.0","endpoints":["/v0.4/traces"]}"#.utf8))
        a.analyzeAgentInfo(body: Array(#"{"version":"7.63.1"}"#.utf8))
        a.analyzeAgentInfo(body: Array("not json".utf8))
        let r = store.snapshot()
        #expect(r.traffic.agentVersions == ["7.60.0": 1, "7.63.1": 1])
        #expect(r.findings.filter { $0.rule == .agent }.map(\.kind) == ["7.60.0"])
        #expect(r.traffic.decodeErrors.count == 1)
        #expect(r.checklist.first { $0.id == "V4-AGENT" }?.status == .found)
    }

    @Test func llmobsStreamedCalls() {
        let body = #"[{"ml_app":"chat","spans":[{"service":"chat-api","meta":{"model_name":"gpt-4o","metadata":{"stream":true,"stream_options":{"include_usage":true}}}},{"service":"chat-api","meta":{"model_name":"gpt-4o","metadata":{"stream":false}}}]}]"#
        let req = CapturedRequest(method: "POST", path: "/evp_proxy/v2/api/v2/llmobs", headers: [], body: Array(body.utf8))
        let r = judge(req)
        #expect(r.findings.map(\.rule) == [.openAIStream])
        #expect(r.findings.first?.key == "gpt-4o" && r.findings.first?.service == "chat-api" && r.findings.first?.count == 1)
    }

    @Test func repeatedFindingsAggregateWithBoundedSamples() {
        var spans: [[UInt8]] = []
        for i in 0..<12 { spans.append(MP.span(name: "op", id: UInt64(i + 1), meta: ["flag": i % 2 == 0 ? "True" : "False"])) }
        let r = judge(traces(spans), traces(spans))
        let f = r.findings.filter { $0.rule == .tagRepr }
        #expect(f.count == 1)
        #expect(f.first?.count == 24)
        #expect(f.first?.samples.count == 5)
        #expect(f.first?.confidence == .medium)
    }

    /// A buffer reused for the next payload (as the proxy's may be) with other bytes at the same
    /// places gives that payload's own groups.
    @Test func aReusedBufferGivesEachPayloadItsOwnGroups() {
        func payload(_ c: Character) -> CapturedRequest {
            let x = String(repeating: c, count: 3)
            return traces((1...3).map { MP.span(service: "s-\(x)", name: "op-\(x)", resource: "res-\(x)", id: UInt64($0), meta: ["flag": "True", "other": "False"]) })
        }
        let a = payload("a"), b = payload("b")
        #expect(a.body.count == b.body.count)
        let store = ReportStore()
        let analyzer = Analyzer(store: store)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: a.body.count, alignment: 16)
        defer { buffer.deallocate() }
        for r in [a, b, a] {
            r.body.withUnsafeBytes { buffer.copyMemory(from: $0) }
            #expect(analyzer.analyze(r, body: UnsafeRawBufferPointer(buffer)).decodeError == nil)
        }
        let f = store.snapshot().findings.filter { $0.rule == .tagRepr }
            .map { "\($0.service) \($0.operation) \($0.resource) \($0.key ?? "") \($0.count)" }.sorted()
        #expect(f == ["s-aaa op-aaa res-aaa flag 6", "s-aaa op-aaa res-aaa other 6",
                      "s-bbb op-bbb res-bbb flag 3", "s-bbb op-bbb res-bbb other 3"])
    }
}
