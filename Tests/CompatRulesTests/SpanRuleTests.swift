import CompatRules
import MessagePack
import Testing
import TracePayload

/// Each span rule judged alone, on spans decoded from a real v0.4 payload, through a sink that
/// records what the rule said: positive and negative cases per rule, without the analyzer (its
/// own tests and the fixtures' expected.json check the rules together).
struct RecordingSink: FindingSink {
    struct Record { var rule: RuleID; var kind: UInt8; var operation: String; var resource: String; var key: String
        var texts: FindingTexts; var sample: SampleTexts; var isInternal: Bool }
    var records: [Record] = []
    var twins: [Int: Int] = [:]
    var traceNotes: [TraceNote] = []

    mutating func record(_ rule: RuleID, kind: UInt8, operation: ByteView, resource: ByteView, key: ByteView,
                         texts: (FindingStrings) -> FindingTexts, sample: () -> SampleTexts) -> Int {
        let s = FindingStrings(service: "svc", operation: operation.string, resource: resource.string, key: key.string)
        records.append(Record(rule: rule, kind: kind, operation: s.operation, resource: s.resource, key: s.key,
                              texts: texts(s), sample: sample(), isInternal: false))
        return records.count - 1
    }

    mutating func recordInternal(_ rule: RuleID, kind: UInt8, operation: ByteView, key: ByteView,
                                 texts: (FindingStrings) -> FindingTexts, sample: () -> SampleTexts) {
        let s = FindingStrings(service: "svc", operation: operation.string, resource: "", key: key.string)
        records.append(Record(rule: rule, kind: kind, operation: s.operation, resource: "", key: s.key, texts: texts(s), sample: sample(), isInternal: true))
    }

    mutating func note(_ note: TraceNote) { traceNotes.append(note) }
    mutating func addTwin(toGroup slot: Int) { twins[slot, default: 0] += 1 }

    /// Judges `spans` (one trace) with rule `R` alone, as the analyzer's walk would: the facts
    /// `R.spanReads` asks for, every hook, `traceEnded` at the end.
    static func judge<R: CompatRule>(_ rule: R.Type, _ spans: [[(String, MessagePackValue)]]) throws -> RecordingSink {
        func s(_ x: String) -> MessagePackValue { .string(Array(x.utf8)) }
        let trace = spans.enumerated().map { i, fields in
            MessagePackValue.map([(s("trace_id"), .uint(7)), (s("span_id"), .uint(UInt64(i + 1))), (s("name"), s("op")),
                                  (s("service"), s("svc")), (s("resource"), s("res"))].filter { k, _ in !fields.contains { s($0.0) == k } }
                                 + fields.map { (s($0.0), $0.1) })
        }
        let body = MessagePackWriter.encode(.array([.array(trace)]))
        var sink = RecordingSink()
        var decoder = TracePayloadDecoder()
        _ = try body.withUnsafeBytes { bytes in
            try decoder.visit(bytes, format: .v04) { span in
                var facts = SpanFacts(span)
                var flagged: [SpanFacts.FlaggedMeta] = []
                span.meta.forEach { k, v in
                    if k.equals("component") { facts.component = v }
                    if k.equals("error.type") { facts.errorType = v }
                    if k.equals("error.message") { facts.errorMessage = v }
                    if k.equals("openai.request.model") { facts.model = v }
                    if R.spanReads.contains(.metaEntries), let code = R.flagMeta(key: k, value: v) {
                        flagged.append(SpanFacts.FlaggedMeta(rule: R.id, code: code, key: k, value: v))
                    }
                }
                let buffer = UnsafeMutableBufferPointer<SpanFacts.FlaggedMeta>.allocate(capacity: max(1, flagged.count))
                defer { buffer.deallocate() }
                _ = buffer.initialize(from: flagged)
                facts.flagged = UnsafeBufferPointer(start: buffer.baseAddress, count: flagged.count)
                span.metrics.forEach { k, n in if R.wantsMetric(key: k) { R.judgeMetric(key: k, number: n, span: facts, into: &sink) } }
                span.metaStruct.forEach { k, e in R.judgeStructTag(key: k, encoded: e, span: facts, into: &sink) }
                R.judge(facts, into: &sink)
            }
            R.traceEnded(into: &sink)
        }
        return sink
    }
}

@Suite struct SpanRuleTests {
    static func s(_ x: String) -> MessagePackValue { .string(Array(x.utf8)) }
    static func meta(_ entries: [(String, String)]) -> (String, MessagePackValue) { ("meta", .map(entries.map { (s($0.0), s($0.1)) })) }

    @Test func registryListsEverySpanRuleOnce() {
        #expect(Rules.spanRuleIDs == [.tagRepr, .tagNumeric, .structTag, .djangoMinimal, .integration, .openAIStream, .removedAPI])
        #expect(Rules.spanReads == [.component, .errorType, .errorMessage, .openAIModel, .metaEntries, .metrics, .metaStruct])
    }

    @Test func tagRepr() throws {
        let hit = try RecordingSink.judge(V4TagReprRule.self, [[Self.meta([("user.ids", "['a', 'b']"), ("flag", "None"), ("note", "[draft]")])]])
        #expect(hit.records.map(\.key) == ["user.ids", "flag"])
        #expect(hit.records.map { $0.texts.kind } == ["list", "none"])
        #expect(hit.records.map { $0.texts.confidence } == [.high, .medium])
        #expect(hit.records[0].sample.excerpt == "['a', 'b']" && hit.records[0].operation == "op" && hit.records[0].resource == "res")
        let miss = try RecordingSink.judge(V4TagReprRule.self, [[Self.meta([("http.method", "['GET']"), ("text", "hello")])]])
        #expect(miss.records.isEmpty)
    }

    @Test func tagNumeric() throws {
        let hit = try RecordingSink.judge(V4TagNumericRule.self, [[("metrics", .map([(Self.s("retry.count"), .float64(3)), (Self.s("_sampling_priority_v1"), .float64(1)), (Self.s("process_id"), .float64(9))]))]])
        #expect(hit.records.map(\.key) == ["retry.count"])
        #expect(hit.records[0].operation == "" && hit.records[0].sample.excerpt == "3" && hit.records[0].sample.operation == "op")
        let miss = try RecordingSink.judge(V4TagNumericRule.self, [[("metrics", .map([(Self.s("_dd.measured"), .float64(1))]))]])
        #expect(miss.records.isEmpty)
    }

    @Test func structTag() throws {
        let value = MessagePackValue.binary(MessagePackWriter.encode(.map([(Self.s("a"), .int(1))])))
        let sink = try RecordingSink.judge(V4StructTagRule.self, [[("meta_struct", .map([(Self.s("my.struct"), value), (Self.s("appsec"), value)]))]])
        #expect(sink.records.map(\.key) == ["my.struct", "appsec"])
        #expect(sink.records.map(\.isInternal) == [false, true])
        #expect(sink.records.map { $0.texts.kind } == ["user", "internal"])
        #expect(try RecordingSink.judge(V4StructTagRule.self, [[Self.meta([("my.struct", "x")])]]).records.isEmpty)
    }

    @Test func djangoMinimalCountsTwinsAtTheTraceEnd() throws {
        let db: [(String, MessagePackValue)] = [("name", Self.s("sqlite.query")), ("resource", Self.s("SELECT 1")), Self.meta([("component", "django-database")])]
        let driver: [(String, MessagePackValue)] = [("name", Self.s("sqlite.query")), ("resource", Self.s("SELECT 1")), ("parent_id", .uint(1)), Self.meta([("component", "sqlite")])]
        let other: [(String, MessagePackValue)] = [("name", Self.s("sqlite.query")), ("resource", Self.s("SELECT 2")), ("parent_id", .uint(1)), Self.meta([("component", "sqlite")])]
        let twin = try RecordingSink.judge(V4DjangoMinimalRule.self, [db, driver])
        #expect(twin.records.map { $0.texts.kind } == ["database"] && twin.records[0].texts.twinSeen == 0)
        #expect(twin.twins == [0: 1])
        let lost = try RecordingSink.judge(V4DjangoMinimalRule.self, [db, other])
        #expect(lost.records.count == 1 && lost.twins.isEmpty)
        let cache = try RecordingSink.judge(V4DjangoMinimalRule.self, [[("name", Self.s("django.cache"))], [("name", Self.s("django.request"))]])
        #expect(cache.records.map { $0.texts.kind } == ["cache"])
    }

    @Test func integration() throws {
        let hit = try RecordingSink.judge(V4IntegrationRule.self, [[Self.meta([("component", "aioredis")])]])
        #expect(hit.records.map { $0.texts.key } == ["aioredis"] && hit.records[0].texts.kind == "span")
        #expect(try RecordingSink.judge(V4IntegrationRule.self, [[Self.meta([("component", "redis")])]]).records.isEmpty)
    }

    @Test func openAIStream() throws {
        let hit = try RecordingSink.judge(V4OpenAIStreamRule.self, [[Self.meta([("component", "openai"), ("openai.request.model", "gpt-4o")])]])
        #expect(hit.records.map(\.key) == ["gpt-4o"] && hit.records[0].texts.key == "gpt-4o" && hit.records[0].texts.kind == "apm")
        #expect(try RecordingSink.judge(V4OpenAIStreamRule.self, [[Self.meta([("component", "anthropic")])]]).records.isEmpty)
    }

    @Test func removedAPI() throws {
        let failed: [(String, MessagePackValue)] = [("error", .int(1)), Self.meta([("error.type", "builtins.AttributeError"),
                                                                                    ("error.message", "'Span' object has no attribute 'set_tag_str'")])]
        let hit = try RecordingSink.judge(V4RemovedAPIRule.self, [failed])
        #expect(hit.records.map { $0.texts.key } == ["set_tag_str"] && hit.records[0].key == "builtins.AttributeError")
        let other: [(String, MessagePackValue)] = [("error", .int(1)), Self.meta([("error.type", "builtins.AttributeError"),
                                                                                   ("error.message", "'NoneType' object has no attribute 'id'")])]
        #expect(try RecordingSink.judge(V4RemovedAPIRule.self, [other]).records.isEmpty)
    }
}
