import CompatReport
import CompatRules
import Foundation
import Testing
@testable import TraceAnalysis

/// The revisions at the end of `../shared/spec/ddtrace-v4-rules.md`, each with a positive and a
/// negative case.
@Suite struct RevisionTests {
    static func deps(_ list: String, service: String = "api") -> CapturedRequest {
        telemetry(#"{"request_type":"app-dependencies-loaded","tracer_time":1700000000,"application":{"service_name":"\#(service)","language_name":"python","language_version":"3.12.1","tracer_version":"3.19.9"},"payload":{"dependencies":[\#(list)]}}"#)
    }

    @Test func agentVersionFromTheAnswerHeader() {
        let store = ReportStore()
        let a = Analyzer(store: store)
        a.analyzeAgentVersion("7.60.1")
        a.analyzeAgentVersion("7.60.1")
        var r = store.snapshot()
        #expect(r.traffic.agentVersions == ["7.60.1": 2])
        let agent = r.findings.filter { $0.rule == .agent }
        #expect(agent.count == 1 && agent.first?.count == 2 && agent.first?.kind == "7.60.1")
        #expect(agent.first?.evidence?.contains("Datadog-Agent-Version") == true)

        let fine = ReportStore()
        Analyzer(store: fine).analyzeAgentVersion("7.70.0")
        r = fine.snapshot()
        #expect(r.findings.isEmpty)
        // The version was seen: the checklist says so, not "not seen in 0 spans".
        let item = r.checklist.first { $0.id == "V4-AGENT" }
        #expect(item?.status == .notSeen)
        #expect(item?.advice.contains("7.70.0") == true)
        #expect(item?.advice.contains("Not seen") == false)
    }

    @Test func cassandraIsARemovedIntegration() {
        let r = judge(traces([MP.span(name: "cassandra.query", meta: ["component": "cassandra"])]),
                      traces([MP.span(name: "redis.command", meta: ["component": "redis"])]))
        let found = r.findings.filter { $0.rule == .integration }
        #expect(found.map(\.key) == ["cassandra"])
        #expect(found.first?.count == 1)
        #expect(V4IntegrationRule.removedIntegration(telemetryName: "cassandra") == "cassandra")
    }

    @Test func installedPackagesOfRemovedIntegrationsAreMediumEvidence() {
        let r = judge(Self.deps(#"{"name":"cassandra-driver","version":"3.29"},{"name":"aioredis","version":"2.0"},{"name":"redis","version":"5.0"}"#))
        let found = r.findings.filter { $0.rule == .integration }
        #expect(Set(found.compactMap(\.key)) == ["cassandra", "aioredis"])
        #expect(found.allSatisfy { $0.confidence == .medium && $0.kind == "package" && $0.app == "api" })
        // Nothing for a package no removed integration needs.
        #expect(judge(Self.deps(#"{"name":"redis","version":"5.0"}"#)).findings.filter { $0.rule == .integration }.isEmpty)
    }

    @Test func openAIStreamConfidenceFollowsTheOpenAIVersion() {
        let span = traces([MP.span(service: "api", name: "openai.request", meta: ["component": "openai"])])
        func confidence(_ deps: CapturedRequest?) -> Confidence? {
            let r = deps.map { judge($0, span) } ?? judge(span)
            return r.findings.first { $0.rule == .openAIStream }?.confidence
        }
        #expect(confidence(Self.deps(#"{"name":"openai","version":"1.30.0"}"#)) == .low)
        #expect(confidence(Self.deps(#"{"name":"openai","version":"1.25.1"}"#)) == .medium)
        #expect(confidence(nil) == .medium)
    }

    @Test func djangoDatabaseFixSaysMinimalFalseRestoresTheSpans() {
        let db = V4DjangoMinimalRule.fix(for: .database)
        #expect(db.contains("DD_DJANGO_TRACING_MINIMAL=false"))
        #expect(db.contains("does not bring them back"))
        #expect(db.range(of: "DD_DJANGO_TRACING_MINIMAL=false")!.lowerBound < db.range(of: "DD_DJANGO_INSTRUMENT_DATABASES=true")!.lowerBound)
        #expect(V4DjangoMinimalRule.fix(for: .cache).contains("DD_DJANGO_INSTRUMENT_CACHES=true"))
    }

    @Test func tagReprFixForNoneDoesNotClaimNoneIsRefused() {
        let r = judge(traces([MP.span(name: "a", meta: ["n": "None", "l": "[1, 2]"])]))
        let none = r.findings.first { $0.rule == .tagRepr && $0.kind == "none" }
        let list = r.findings.first { $0.rule == .tagRepr && $0.kind == "list" }
        #expect(none?.fix.contains("still accepts None") == true)
        #expect(list?.fix.contains("not lists") == true)
        #expect(none?.fix != list?.fix)
    }

    @Test(arguments: ["/v0.7/traces", "/v1.0/traces"])
    func newerTraceFormatsAreCountedAsNotAnalysedNeverAsDecodeErrors(_ path: String) {
        let r = judge(CapturedRequest(method: "POST", path: path, headers: [], body: [0x93, 0x01, 0x02]),
                      traces([MP.span(name: "a")]))
        #expect(r.traffic.decodeErrors.count == 0)
        #expect(r.traffic.notAnalysed == [path: 1])
        #expect(r.traffic.notAnalysedReasons?[path] == EndpointClass.notDecodedReason)
        #expect(r.traffic.requestsByEndpoint[path] == 1)
        #expect(r.traffic.tracePayloads == ["v0.4": 1])
        #expect(EndpointClass(method: "POST", uri: path).analysis.keepsRequestBody == false)
        #expect(EndpointClass(method: "POST", uri: "/v0.5/traces?x=1").analysis == .tracePayload(.v05))
    }
}
