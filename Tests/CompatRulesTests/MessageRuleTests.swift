import CompatRules
import Foundation
import MessagePack
import Testing

/// What a message rule recorded, per call: the rule alone, without the analyzer (its tests and
/// the fixtures' expected.json check the rules together).
struct RecordingMessages: MessageSink {
    struct Record: Equatable {
        var rule: RuleID
        var service: String?
        var key: String?
        var kind: String?
        var confidence: Confidence?
        var fix: String?
        var evidence: String?
    }
    var records: [Record] = []

    mutating func recordMessage(_ rule: RuleID, service: String?, texts: FindingTexts) {
        records.append(Record(rule: rule, service: service, key: texts.key, kind: texts.kind, confidence: texts.confidence,
                              fix: texts.fix, evidence: texts.evidence))
    }

    static func headers<R: CompatRule>(_ rule: R.Type, tracer: String = "", python: String = "") -> [Record] {
        var sink = RecordingMessages()
        R.judgeHeaders(MetaHeaders(tracerVersion: tracer, langVersion: python), into: &sink)
        return sink.records
    }

    static func telemetry<R: CompatRule>(_ rule: R.Type, _ message: TelemetryMessage) -> [Record] {
        var sink = RecordingMessages()
        R.judgeTelemetry(message, into: &sink)
        return sink.records
    }

    static func agent<R: CompatRule>(_ rule: R.Type, _ version: String, _ source: AgentAnswer.Source) -> [Record] {
        var sink = RecordingMessages()
        R.judgeAgent(AgentAnswer(version: version, source: source), into: &sink)
        return sink.records
    }
}

/// The rules judged on headers, telemetry, agent answers and LLM Observability: a positive and a
/// negative case each, through the hook the analyzer calls.
@Suite struct MessageRuleTests {
    static func telemetry(python: String = "3.12.4", tracer: String = "3.19.9", configuration: [TelemetryMessage.ConfigEntry] = [],
                          integrations: [TelemetryMessage.Integration] = [], dependencies: [TelemetryMessage.Dependency] = []) -> TelemetryMessage {
        var m = TelemetryMessage()
        m.application.serviceName = "shop"
        m.application.languageName = "python"
        m.application.languageVersion = python
        m.application.tracerVersion = tracer
        m.configuration = configuration
        m.integrations = integrations
        m.dependencies = dependencies
        return m
    }

    @Test func pythonFromHeaders() {
        #expect(RecordingMessages.headers(V4PythonRule.self, python: "3.8.18")
                == [.init(rule: .python, kind: "3.8.18", evidence: "Datadog-Meta-Lang-Version: 3.8.18")])
        #expect(RecordingMessages.headers(V4PythonRule.self, python: "3.9.0").isEmpty)
        #expect(RecordingMessages.headers(V4PythonRule.self, python: "").isEmpty)
        #expect(RecordingMessages.headers(V4PythonRule.self, tracer: "2.0.0", python: "3.12").isEmpty)
    }

    @Test func pythonFromTelemetry() {
        #expect(RecordingMessages.telemetry(V4PythonRule.self, Self.telemetry(python: "3.7.17"))
                == [.init(rule: .python, kind: "3.7.17", evidence: "telemetry application.language_version 3.7.17")])
        #expect(RecordingMessages.telemetry(V4PythonRule.self, Self.telemetry(python: "3.13.1")).isEmpty)
    }

    @Test func tracerFromHeadersAndTelemetry() {
        #expect(RecordingMessages.headers(V4TracerRule.self, tracer: "3.18.2rc1", python: "3.8")
                == [.init(rule: .tracer, kind: "3.18.2rc1", evidence: "Datadog-Meta-Tracer-Version: 3.18.2rc1")])
        #expect(RecordingMessages.headers(V4TracerRule.self, tracer: "3.19.9").isEmpty)
        #expect(RecordingMessages.telemetry(V4TracerRule.self, Self.telemetry(tracer: "2.21.0"))
                == [.init(rule: .tracer, kind: "2.21.0", evidence: "telemetry application.tracer_version 2.21.0")])
        #expect(RecordingMessages.telemetry(V4TracerRule.self, Self.telemetry(tracer: "4.0.0")).isEmpty)
    }

    @Test func agentFromInfoAndHeader() {
        #expect(RecordingMessages.agent(V4AgentRule.self, "7.62.2", .info)
                == [.init(rule: .agent, key: "version", kind: "7.62.2", evidence: "GET /info answered version 7.62.2")])
        #expect(RecordingMessages.agent(V4AgentRule.self, "7.50.0", .header)
                == [.init(rule: .agent, key: "version", kind: "7.50.0", evidence: "Datadog-Agent-Version: 7.50.0 on the agent's answers")])
        #expect(RecordingMessages.agent(V4AgentRule.self, "7.63.0", .header).isEmpty)
        #expect(RecordingMessages.agent(V4AgentRule.self, "", .info).isEmpty)
    }

    @Test func configFromTelemetry() {
        let set = Self.telemetry(configuration: [
            .init(name: "DD_PROFILING_STACK_V2_ENABLED", value: "false", origin: "env_var"),
            .init(name: "DD_EXCEPTION_REPLAY_ENABLED", value: "true", origin: "unknown"),
        ])
        let records = RecordingMessages.telemetry(V4ConfigRule.self, set)
        #expect(records.map(\.key) == ["DD_PROFILING_STACK_V2_ENABLED", "DD_EXCEPTION_DEBUGGING_ENABLED"])
        #expect(records.map(\.confidence) == [.high, .medium])
        #expect(records.first?.evidence == "DD_PROFILING_STACK_V2_ENABLED=false (origin env_var)")
        let defaults = Self.telemetry(configuration: [
            .init(name: "DD_PROFILING_STACK_V2_ENABLED", value: "false", origin: "default"),
            .init(name: "DD_EXCEPTION_REPLAY_ENABLED", value: "false", origin: "default"),
        ])
        #expect(RecordingMessages.telemetry(V4ConfigRule.self, defaults).isEmpty)
    }

    @Test func platformFromTelemetry() {
        let i686 = Self.telemetry(configuration: [.init(name: "python_soabi", value: "cpython-311-i386-linux-gnu", origin: "default"),
                                                  .init(name: "python_host_gnu_type", value: "i686-pc-linux-gnu", origin: "default")])
        #expect(RecordingMessages.telemetry(V4PlatformRule.self, i686)
                == [.init(rule: .platform, key: "python_host_gnu_type", kind: "i686-pc-linux-gnu", evidence: "telemetry python_host_gnu_type=i686-pc-linux-gnu"),
                    .init(rule: .platform, key: "python_soabi", kind: "cpython-311-i386-linux-gnu", evidence: "telemetry python_soabi=cpython-311-i386-linux-gnu")])
        let x86 = Self.telemetry(configuration: [.init(name: "python_soabi", value: "cpython-311-x86_64-linux-gnu", origin: "default")])
        #expect(RecordingMessages.telemetry(V4PlatformRule.self, x86).isEmpty)
    }

    @Test func integrationFromTelemetryAndPackages() {
        let m = Self.telemetry(integrations: [.init(name: "aioredis", enabled: true, version: "2.0.1"), .init(name: "freezegun", enabled: false),
                                              .init(name: "django", enabled: true)],
                               dependencies: [.init(name: "aioredis", version: "2.0.1"), .init(name: "cassandra_driver", version: "3.29.1"),
                                              .init(name: "Django", version: "4.2")])
        let records = RecordingMessages.telemetry(V4IntegrationRule.self, m)
        #expect(records.map(\.key) == ["aioredis", "cassandra"])
        #expect(records.map(\.kind) == ["telemetry", "package"])
        #expect(records.map(\.confidence) == [nil, .medium])
        #expect(records[0].evidence == "telemetry integration aioredis enabled (version 2.0.1)")
        #expect(records[1].evidence == "telemetry app-dependencies-loaded: cassandra_driver 3.29.1")
        #expect(records[1].fix == V4IntegrationRule.fix(for: "cassandra"))
        let clean = Self.telemetry(integrations: [.init(name: "django", enabled: true), .init(name: "freezegun", enabled: false)],
                                   dependencies: [.init(name: "redis", version: "5.0")])
        #expect(RecordingMessages.telemetry(V4IntegrationRule.self, clean).isEmpty)
    }

    @Test func openAIStreamFromLLMObs() {
        let events: Any = [["spans": [["service": "a", "meta": ["model_name": "m1", "metadata": ["stream": true]]],
                                      ["service": "b", "meta": ["model_name": "m2", "metadata": ["stream": false]]]]]]
        var sink = RecordingMessages()
        V4OpenAIStreamRule.judgeLLMObs(events, into: &sink)
        #expect(sink.records == [.init(rule: .openAIStream, service: "a", key: "m1", kind: "llmobs",
                                       evidence: "LLM Observability span with metadata.stream = true")])
        var none = RecordingMessages()
        V4OpenAIStreamRule.judgeLLMObs([["spans": [["service": "b", "meta": ["metadata": ["stream": false]]]]]] as Any, into: &none)
        #expect(none.records.isEmpty)
    }

    /// The registry asks a message hook only of the rules whose `reads` name its source: a rule
    /// that forgot to declare what it reads is not asked (and this shows it).
    @Test func registryAsksTheRulesThatReadEachSource() {
        var headers = RecordingMessages()
        Rules.judgeHeaders(MetaHeaders(tracerVersion: "3.0.0", langVersion: "3.8.1"), into: &headers)
        #expect(headers.records.map(\.rule) == [.python, .tracer])
        var telemetry = RecordingMessages()
        Rules.judgeTelemetry(Self.telemetry(python: "3.8.1", tracer: "3.0.0",
                                            configuration: [.init(name: "python_soabi", value: "cpython-38-i686-linux-gnu", origin: "default"),
                                                            .init(name: "DEFAULT_RUNTIME_METRICS_INTERVAL", value: "10", origin: "env_var")],
                                            integrations: [.init(name: "opentracer", enabled: true)]), into: &telemetry)
        #expect(telemetry.records.map(\.rule) == [.python, .platform, .tracer, .config, .integration])
        var agent = RecordingMessages()
        Rules.judgeAgent(AgentAnswer(version: "7.40.1", source: .info), into: &agent)
        #expect(agent.records.map(\.rule) == [.agent])
        for rule in Rules.all {
            var sink = RecordingMessages()
            if !rule.reads.contains(.requestHeaders) { rule.judgeHeaders(MetaHeaders(tracerVersion: "3.0.0", langVersion: "3.8.1"), into: &sink) }
            if !rule.reads.contains(.agentAnswers) { rule.judgeAgent(AgentAnswer(version: "7.40.1", source: .info), into: &sink) }
            #expect(sink.records.isEmpty, "\(rule.id) judges a source it does not declare in reads")
        }
    }
}

/// The registry (`Rules`) is the one list of rules: ids, order, lookups and the stable ids of the
/// report's schema come from it.
@Suite struct RuleRegistryTests {
    @Test func everyRuleOnceWithItsOwnID() {
        let ids = Rules.ids
        #expect(ids == Rules.all.map { $0.id })
        #expect(Set(ids).count == ids.count)
        #expect(Set(ids.map(\.code)).count == ids.count, "two rule ids hash alike: FindingTable keys would merge them")
        #expect(RuleID.allCases == ids)
        for (i, id) in ids.enumerated() {
            #expect(id.rule.id == id)
            #expect(RuleID(rawValue: id.rawValue) == id)
            if i > 0 { #expect(ids[i - 1] < id) }
        }
        #expect(RuleID(rawValue: "V4-NOT-A-RULE") == nil)
    }

    /// `Rules.metricRules` gives each rule one bit of a `UInt32` at its place in the registry, and
    /// `judgeMetric` asks only those rules: a user key sets V4-TAG-NUMERIC's bit alone, a key
    /// ddtrace writes none (the rule's `judgeMetric` no longer tests the key itself).
    @Test func metricKeysAreAskedOfTheRulesThatWantThem() {
        #expect(Rules.all.count <= 32, "one bit per rule in Rules.metricRules")
        let place = UInt32(Rules.ids.firstIndex(of: .tagNumeric)!)
        #expect(withView("retry.count") { Rules.metricRules(key: $0) } == 1 << place)
        for tracer in ["_sampling_priority_v1", "process_id", "db.row_count", "_dd.measured"] {
            #expect(withView(tracer) { Rules.metricRules(key: $0) } == 0, "\(tracer)")
        }
    }

    @Test func reportsNamingAnUnknownRuleAreRefused() throws {
        let known = try JSONDecoder().decode([RuleID].self, from: Data(#"["V4-AGENT", "V4-TAG-REPR"]"#.utf8))
        #expect(known == [.agent, .tagRepr])
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([RuleID].self, from: Data(#"["V4-NOPE"]"#.utf8)) }
        #expect(String(decoding: try JSONEncoder().encode([RuleID.djangoMinimal]), as: UTF8.self) == #"["V4-DJANGO-MINIMAL"]"#)
    }

    /// The ids are the report schema's stable list: `docs/rules.md`'s rules table lists exactly
    /// the registry's rules, in its order (a rule added, removed or renamed in one and not the
    /// other fails here; `docs/rules.md`, "Adding a rule").
    @Test func docsRulesTableListsTheRegistry() throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: repo.appendingPathComponent("docs/rules.md"), encoding: .utf8)
        let table = text.components(separatedBy: "## The rules")[1].components(separatedBy: "\n\n")[1]
        let listed = table.split(separator: "\n").dropFirst(2).map { $0.split(separator: "|")[0].trimmingCharacters(in: .whitespaces) }
        #expect(listed == Rules.ids.map(\.rawValue))
    }
}
