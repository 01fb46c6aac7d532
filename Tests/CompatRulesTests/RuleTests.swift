import MessagePack
import SeededRandom
import Testing
@testable import CompatRules

func withView<T>(_ s: String, _ body: (ByteView) -> T) -> T {
    var copy = s
    return copy.withUTF8 { body(ByteView(UnsafeRawBufferPointer($0))) }
}

@Suite struct PythonReprTests {
    @Test(arguments: [
        ("True", PythonRepr.Kind.bool, Confidence.medium), ("False", .bool, .medium), ("None", .none, .medium),
        ("[1, 2]", .list, .high), ("['x', 'y']", .list, .high), ("{'a': 1}", .dict, .high), ("(1, 2)", .tuple, .high),
        ("(1,)", .tuple, .high), ("()", .tuple, .high), ("{1, 2}", .set, .high), ("set()", .set, .high),
        ("frozenset({1})", .set, .high), ("b'\\x01bytes'", .bytes, .high), ("b\"it's\"", .bytes, .high),
        ("bytearray(b'ab')", .bytes, .high), ("[]", .list, .medium), ("{}", .dict, .medium),
        ("{'a': [1, {'b': None}], 'c': (True, 2.5e-05, -3)}", .dict, .high),
        ("[Decimal('1.5'), datetime.datetime(2024, 1, 1, 0, 0)]", .list, .high),
        ("[Point(x=1, y=2)]", .list, .high), ("[<Obj>, <a.B object at 0x7f00>]", .list, .high),
        ("{\"it's\": 1}", .dict, .high), ("[inf, nan, -inf]", .list, .high), ("deque([1, 2])", .list, .high),
        ("<mod.Class object at 0x7f3a2c1b9d90>", .object, .high), ("<function f at 0x7f3a2c1b9d90>", .object, .high),
        ("<module 'os' from '/usr/lib/python3.11/os.py'>", .object, .high), ("<Obj>", .object, .medium),
        ("<Response [200]>", .object, .medium), ("<User: alice>", .object, .medium),
        // Python's own forms, each recognised by its prefix alone (lower-case, no " at 0x").
        ("<class 'int'>", .object, .high), ("<function f>", .object, .high), ("<bound method A.f of a>", .object, .high),
        ("<built-in function len>", .object, .high), ("<coroutine object c>", .object, .high),
        ("<generator object g>", .object, .high), ("<a at 0x1>", .object, .high),
    ])
    func flags(_ text: String, _ kind: PythonRepr.Kind, _ confidence: Confidence) {
        let m = PythonRepr.classify(text)
        #expect(m == PythonRepr.Match(kind: kind, confidence: confidence), "\(text)")
        // The cheap first/last-byte test never turns a repr away.
        #expect(withView(text) { PythonRepr.isCandidate($0) }, "\(text)")
    }

    /// Ordinary words that share a repr's first letter stop at the first/last-byte test.
    @Test(arguments: ["sqlite", "django", "defaultdb", "staging", "default", "True story", "Nonesuch", "[draft", "{x", "<b", "bar", "abc"])
    func ordinaryValuesAreNotCandidates(_ text: String) {
        #expect(!withView(text) { PythonRepr.isCandidate($0) }, "\(text)")
        #expect(PythonRepr.classify(text) == nil, "\(text)")
    }

    @Test(arguments: [
        "Nonesuch", "None of them", "true", "false", "null", "Truely", "[draft]", "[WIP] fix", "(see above)",
        "http://example.com/?a[0]=1&b[]=2", "[2001:db8::1]:8443", "{\"a\": 1}", "[\"x\"]", "{\"a\": [1, \"b\"]}",
        "(555) 123-4567", "{{ template }}", "<none>", "<unknown>", "<br>", "<b>bold</b>", "b", "banana", "",
        "[1, 2", "{'a': 1", "['x'] and more", "(1)", "staging", "[x]", "{a: 1}", "<>", "set", "dict(a=1)",
        "Traceback (most recent call last)", "[1, 2]\n", "<Obj", "F", "N/A",
        "<functional>", "<classy>", "<module>", "<generator>", "<a at 0>", "<built-ins>",
    ])
    func doesNotFlag(_ text: String) {
        #expect(PythonRepr.classify(text) == nil, "\(text)")
    }

    /// The codes packed into a flagged entry are the cases' positions in `allCases`, both ways.
    @Test func kindAndConfidenceCodes() {
        for (i, kind) in PythonRepr.Kind.allCases.enumerated() {
            #expect(kind.code == UInt8(i))
            #expect(PythonRepr.Kind(code: kind.code) == kind)
        }
        for (i, c) in Confidence.allCases.enumerated() {
            #expect(c.code == UInt8(i))
            #expect(Confidence(code: c.code) == c)
        }
        for (i, kind) in V4DjangoMinimalRule.Kind.allCases.enumerated() { #expect(kind.code == UInt8(i)) }
    }
}

@Suite struct TagRuleTests {
    /// `mayFlag` (the walk's inline test) never hides a value `flagMeta` flags, and keeps the
    /// ordinary values out: every kind of repr passes, words that share a first letter do not.
    @Test func mayFlagLetsThroughEveryValueFlagMetaFlags() {
        let flagged = ["True", "False", "None", "[1, 2]", "{'a': 1}", "(1,)", "{1, 2}", "b'x'", "set()",
                       "<Obj>", "<app.Cart object at 0x7f00>", "frozenset({1})", "deque([1])", "OrderedDict()"]
        let plain = ["sqlite", "django", "staging", "Trace", "[draft", "bob", "200", "", "x", "{\"a\": 1}"]
        for v in flagged + plain {
            let flags = withView("user.key") { key in withView(v) { V4TagReprRule.flagMeta(key: key, value: $0) } } != nil
            let may = withView(v) { Rules.mayFlagMeta(value: $0) }
            #expect(!flags || may, "\(v)")
            #expect(flags == flagged.contains(v) || !flagged.contains(v), "\(v)")
        }
        #expect(flagged.allSatisfy { v in withView(v) { Rules.mayFlagMeta(value: $0) } })
        #expect(["sqlite", "django", "staging", "200", "", "x"].allSatisfy { v in !withView(v) { Rules.mayFlagMeta(value: $0) } })
    }

    /// The known-key tables find every key of their lists, and nothing that differs from one in
    /// a byte, a letter's case or its length (keys sharing a hash bucket are told apart).
    @Test func knownKeyTablesFindExactlyTheirKeys() {
        func strings(_ keys: [StaticString]) -> [String] { keys.map { $0.description } }
        let meta = strings(KnownTagKeys.exactMeta), metrics = strings(KnownTagKeys.exactMetrics)
        let prefixes = strings(KnownTagKeys.prefixes).filter { $0 != "kafka_" }
        #expect(!meta.isEmpty && !metrics.isEmpty && !prefixes.isEmpty)
        for (keys, lookup) in [(meta, KnownTagKeys.Lookup.exactMeta), (metrics, .exactMetrics), (prefixes, .prefixes)] {
            let all = Set(keys)
            for k in keys {
                #expect(withView(k) { lookup.contains($0) }, "\(k)")
                for miss in [k + "x", String(k.dropLast()), "x" + k, k.uppercased(), String(k.dropLast()) + "\u{1}"] where !all.contains(miss) {
                    #expect(!withView(miss) { lookup.contains($0) }, "\(miss)")
                }
            }
            #expect(!withView("") { lookup.contains($0) })
        }
    }

    @Test func reprOnUserKeysOnly() {
        #expect(withView("cache.hit") { k in withView("True") { V4TagReprRule.judge(key: k, value: $0) } }?.kind == .bool)
        for key in ["error.message", "http.url", "component", "_dd.p.dm", "django.user.is_authenticated", "db.statement", "span.kind", "env", "version", "language", "runtime-id"] {
            #expect(withView(key) { k in withView("True") { V4TagReprRule.judge(key: k, value: $0) } } == nil, "\(key)")
        }
        #expect(withView("user.note") { k in withView("Nonesuch") { V4TagReprRule.judge(key: k, value: $0) } } == nil)
    }

    @Test func numericOnUserKeysOnly() {
        for key in ["retry.count", "ratio", "k.int", "m.count"] { #expect(withView(key) { V4TagNumericRule.judge(key: $0) }, "\(key)") }
        for key in ["_dd.top_level", "_dd.measured", "_sampling_priority_v1", "process_id", "db.row_count", "_dd.tracer_kr",
                    "sample.rate", "_dd.agent_psr", "network.destination.port", "openai.response.usage.total_tokens"] {
            #expect(!withView(key) { V4TagNumericRule.judge(key: $0) }, "\(key)")
        }
    }

    @Test func structTagKinds() {
        #expect(withView("my.struct") { V4StructTagRule.kind(ofKey: $0) } == .user)
        for key in ["appsec", "iast", "_dd.stack", "_dd.appsec.json"] {
            #expect(withView(key) { V4StructTagRule.kind(ofKey: $0) } == .internal, "\(key)")
        }
    }

    @Test func djangoKinds() {
        func kind(_ name: String, _ type: String, _ component: String) -> V4DjangoMinimalRule.Kind? {
            withView(name) { n in withView(type) { t in withView(component) { V4DjangoMinimalRule.kind(name: n, type: t, component: $0) } } }
        }
        #expect(kind("sqlite.query", "sql", "django-database") == .database)
        #expect(kind("django.cache", "cache", "django") == .cache)
        #expect(kind("django.template.render", "template", "django") == .template)
        #expect(kind("sqlite.query", "sql", "sqlite") == nil)
        #expect(kind("django.request", "web", "django") == nil)
        #expect(kind("django.middleware", "", "django") == nil)
        #expect(kind("django.view", "", "django") == nil)
        #expect(kind("flask.cache", "cache", "flask_cache") == nil)
        #expect(withView("sqlite.query") { n in withView("sqlite") { V4DjangoMinimalRule.isDriverTwin(name: n, component: $0) } })
        #expect(!withView("sqlite.query") { n in withView("django-database") { V4DjangoMinimalRule.isDriverTwin(name: n, component: $0) } })
    }
}

@Suite struct VersionRuleTests {
    @Test func dottedVersions() {
        #expect(DottedVersion("3.9")! > DottedVersion("3.8.18")!)
        #expect(DottedVersion("3.11.7")! > DottedVersion("3.9")!)
        #expect(DottedVersion("3.19.9rc1")! == DottedVersion("3.19.9")!)
        #expect(DottedVersion("x") == nil)
    }

    @Test func python() {
        #expect(V4PythonRule.isUnsupported("3.8.18"))
        #expect(V4PythonRule.isUnsupported("2.7.18"))
        #expect(!V4PythonRule.isUnsupported("3.9.0"))
        #expect(!V4PythonRule.isUnsupported("3.11.7"))
        #expect(!V4PythonRule.isUnsupported(""))
    }

    @Test func agent() {
        #expect(V4AgentRule.isUnsupported("7.60.0"))
        #expect(V4AgentRule.isUnsupported("7.62.99"))
        #expect(!V4AgentRule.isUnsupported("7.63.0"))
        #expect(!V4AgentRule.isUnsupported("7.70.1-devel"))
    }

    @Test func tracer() {
        #expect(V4TracerRule.isBehind("3.18.2"))
        #expect(V4TracerRule.isBehind("2.21.0"))
        #expect(!V4TracerRule.isBehind("3.19.9"))
        #expect(!V4TracerRule.isBehind("4.0.0"))
    }

    @Test func platform() {
        #expect(V4PlatformRule.is32BitLinux("cpython-311-i386-linux-gnu"))
        #expect(V4PlatformRule.is32BitLinux("i686-pc-linux-gnu"))
        #expect(V4PlatformRule.is32BitLinux("cpython-311-arm-linux-gnueabihf"))
        #expect(V4PlatformRule.is32BitLinux("armv7l-unknown-linux-gnueabihf"))
        #expect(!V4PlatformRule.is32BitLinux("cpython-311-x86_64-linux-gnu"))
        #expect(!V4PlatformRule.is32BitLinux("aarch64-unknown-linux-gnu"))
        #expect(!V4PlatformRule.is32BitLinux("cpython-311-darwin"))
    }
}

@Suite struct ConfigIntegrationAPIRuleTests {
    typealias E = TelemetryMessage.ConfigEntry

    @Test func profilingStackV1() {
        #expect(V4ConfigRule.judge(["DD_PROFILING_STACK_V2_ENABLED": E(name: "DD_PROFILING_STACK_V2_ENABLED", value: "false", origin: "env_var")]).first?.confidence == .high)
        #expect(V4ConfigRule.judge(["DD_PROFILING_STACK_V2_ENABLED": E(name: "DD_PROFILING_STACK_V2_ENABLED", value: "true", origin: "env_var")]).isEmpty)
        #expect(V4ConfigRule.judge(["DD_PROFILING_STACK_V2_ENABLED": E(name: "DD_PROFILING_STACK_V2_ENABLED", value: "false", origin: "default")]).isEmpty)
    }

    @Test func renamedSettings() {
        let mapped = V4ConfigRule.judge(["DD_EXCEPTION_REPLAY_ENABLED": E(name: "DD_EXCEPTION_REPLAY_ENABLED", value: "true", origin: "unknown")])
        #expect(mapped.map(\.setting) == ["DD_EXCEPTION_DEBUGGING_ENABLED"])
        #expect(mapped.first?.confidence == .medium)
        #expect(V4ConfigRule.judge(["DD_EXCEPTION_REPLAY_ENABLED": E(name: "DD_EXCEPTION_REPLAY_ENABLED", value: "true", origin: "env_var")]).isEmpty)
        let di = V4ConfigRule.judge(["DD_DYNAMIC_INSTRUMENTATION_UPLOAD_INTERVAL_SECONDS": E(name: "DD_DYNAMIC_INSTRUMENTATION_UPLOAD_INTERVAL_SECONDS", value: "2", origin: "unknown")])
        #expect(di.map(\.setting) == ["DD_DYNAMIC_INSTRUMENTATION_UPLOAD_FLUSH_INTERVAL"])
        #expect(V4ConfigRule.judge(["DEFAULT_RUNTIME_METRICS_INTERVAL": E(name: "DEFAULT_RUNTIME_METRICS_INTERVAL", value: "10", origin: "env_var")]).count == 1)
        #expect(V4ConfigRule.judge(["DEFAULT_RUNTIME_METRICS_INTERVAL": E(name: "DEFAULT_RUNTIME_METRICS_INTERVAL", value: "10", origin: "default")]).isEmpty)
    }

    @Test func effectiveConfigurationTakesTheLatestSeqID() throws {
        let body = #"{"request_type":"app-started","application":{"service_name":"s"},"payload":{"configuration":[{"name":"A","value":"2","origin":"env_var","seq_id":9},{"name":"A","value":null,"origin":"default","seq_id":1},{"name":"B","value":true,"origin":"default"}]}}"#
        let m = try TelemetryMessage.parse(Array(body.utf8))
        #expect(m.effectiveConfiguration["A"]?.value == "2")
        #expect(m.effectiveConfiguration["B"]?.value == "true")
        #expect(m.eventTypes == ["app-started"])
        #expect(m.application.serviceName == "s")
    }

    @Test func integrations() {
        #expect(V4IntegrationRule.removedIntegration(telemetryName: "aioredis") == "aioredis")
        #expect(V4IntegrationRule.removedIntegration(telemetryName: "redis") == nil)
        #expect(withView("google_generativeai") { V4IntegrationRule.removedIntegration(component: $0) } == "google_generativeai")
        #expect(withView("google_genai") { V4IntegrationRule.removedIntegration(component: $0) } == nil)
    }

    @Test func removedAPIMessages() {
        #expect(V4RemovedAPIRule.removedAPI(inMessage: "'Span' object has no attribute 'set_tag_str'") == "set_tag_str")
        #expect(V4RemovedAPIRule.removedAPI(inMessage: "cannot import name 'Pin' from 'ddtrace'") == "Pin")
        #expect(V4RemovedAPIRule.removedAPI(inMessage: "No module named 'ddtrace.settings'") == "ddtrace.settings")
        #expect(V4RemovedAPIRule.removedAPI(inMessage: "'Tracer' object has no attribute 'on_start_span'") == "on_start_span")
        #expect(V4RemovedAPIRule.removedAPI(inMessage: "'Foo' object has no attribute 'Pinned'") == nil)
        #expect(V4RemovedAPIRule.removedAPI(inMessage: "'dict' object has no attribute 'set_tag'") == nil)
        #expect(withView("builtins.AttributeError") { V4RemovedAPIRule.isCandidateErrorType($0) })
        #expect(!withView("builtins.ValueError") { V4RemovedAPIRule.isCandidateErrorType($0) })
    }

    @Test func openAIStreamFromLLMObs() throws {
        let events: Any = [["spans": [["service": "a", "meta": ["model_name": "m1", "metadata": ["stream": true]]],
                                      ["service": "a", "meta": ["model_name": "m2", "metadata": ["stream": false]]]]]]
        let calls = V4OpenAIStreamRule.streamedCalls(inLLMObsBody: events)
        #expect(calls.map(\.model) == ["m1"])
        #expect(withView("openai") { V4OpenAIStreamRule.isOpenAISpan(component: $0) })
        #expect(!withView("langchain") { V4OpenAIStreamRule.isOpenAISpan(component: $0) })
    }

    @Test func everyRuleHasItsMetadata() {
        for id in RuleID.allCases {
            let r = id.rule
            #expect(r.id == id)
            #expect(!r.fix.isEmpty && !r.title.isEmpty && !r.evidence.isEmpty)
        }
        #expect(CodeChecklist.items.count >= 7)
    }
}

@Suite struct JSONSyntaxTests {
    @Test(arguments: [
        (#"{"a": [1, 2.5e-3, true, null, "x\u00e9"]}"#, nil as Int?), ("[]", nil), (" 1 ", nil),
        (#"{"a": "#, 6), (#"{"a": 1,}"#, 8), ("{\"request_type\": tru}", 20), ("[1 2]", 3), ("", 0), ("{} x", 3), (#"{"a":01}"#, 6),
    ])
    func offsets(_ text: String, _ offset: Int?) {
        #expect(JSONSyntax.firstErrorOffset(Array(text.utf8)) == offset, "\(text)")
    }
}

@Suite struct RobustnessTests {
    /// Random text over the characters the recognisers care about: never a crash, and whatever is
    /// flagged as a container parses back the same way (classification is deterministic).
    @Test func recognisersSurviveRandomText() {
        var rng = SplitMix64(seed: 12)
        let alphabet = Array("[](){}<>'\"\\,:.-+ 0123456789eEjbxTrueFalsNonObject at0x=_\n".utf8)
        var flagged = 0
        for _ in 0..<20_000 {
            let n = rng.below(24)
            let bytes = (0..<n).map { _ in alphabet[rng.below(alphabet.count)] }
            let text = String(decoding: bytes, as: UTF8.self)
            let a = PythonRepr.classify(text)
            #expect(a == PythonRepr.classify(text))
            if a != nil { flagged += 1 }
            _ = JSONSyntax.firstErrorOffset(bytes)
        }
        #expect(flagged < 20_000)
    }

    @Test func deepNestingIsBounded() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(PythonRepr.classify(deep) == nil)
        #expect(JSONSyntax.firstErrorOffset(Array(deep.utf8)) != nil)
    }
}
