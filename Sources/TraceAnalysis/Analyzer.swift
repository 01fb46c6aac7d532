import CompatReport
import CompatRules
import Foundation
import MessagePack
import TracePayload

/// Decodes one captured request, applies the v4 rules, and records the outcome in a `ReportStore`.
///
/// Shared by the proxy (on its analysis threads) and `trace-compat audit`. Not thread-safe itself:
/// use one Analyzer per analysis thread; the ReportStore they share is.
///
/// Cost model (the proxy targets 200,000 spans/s on one core): a span without findings costs one
/// walk of its meta and metrics with a first-byte test per value, a hash of its service name, and
/// no allocation. Strings are copied only when a finding is recorded for a new group, and the
/// store's lock is taken once per payload (`ReportStore.record`).
public final class Analyzer {
    public let store: ReportStore

    private var decoder = TracePayloadDecoder()
    private var table: FindingTable
    private var internalTable: FindingTable
    private var strings = StringCache()
    /// Spans per application in the current payload: hash of the app name → (slot of name, count).
    private var appSpans: [UInt64: Int] = [:]
    private var appOrder: [(hash: UInt64, view: String)] = []
    /// Twin bookkeeping for V4-DJANGO-MINIMAL within one trace.
    private var dbSpans: [DBSpan] = []
    private var driverSpans: [DriverSpan] = []

    struct DBSpan { var spanID: UInt64; var parentID: UInt64; var name: UInt64; var resource: UInt64; var slot: Int }
    struct DriverSpan { var spanID: UInt64; var parentID: UInt64; var name: UInt64; var resource: UInt64 }

    public init(store: ReportStore) {
        self.store = store
        table = FindingTable(sampleLimit: store.sampleLimit)
        internalTable = FindingTable(sampleLimit: store.sampleLimit)
    }

    // MARK: - Requests

    /// What became of one request: judged, or not decodable (with the reason and byte offset).
    public struct Outcome: Sendable, Equatable {
        public var decodeError: (reason: String, offset: Int)?
        public static func == (a: Outcome, b: Outcome) -> Bool { a.decodeError?.reason == b.decodeError?.reason && a.decodeError?.offset == b.decodeError?.offset }
    }

    private var lastError: (reason: String, offset: Int)?

    /// Judges one request (trace payload, telemetry, anything else is only counted as traffic).
    @discardableResult
    public func analyze(_ request: CapturedRequest) -> Outcome {
        lastError = nil
        defer { lastError = nil }
        dispatch(request)
        return Outcome(decodeError: lastError)
    }

    /// Records a file or request that could not even be read as a request (audit: a foreign or
    /// damaged file), counted with the decode errors.
    public func recordUnreadable(source: String, endpoint: String = "(file)", reason: String, offset: Int, at: Date = Date()) {
        var delta = Report()
        let t = ReportTime(at)
        delta.startedAt = t
        delta.updatedAt = t
        recordDecodeError(into: &delta, source: source, endpoint: endpoint, reason: reason, offset: offset, at: t)
        store.record(delta)
    }

    private func dispatch(_ request: CapturedRequest) {
        let endpoint = ReportStore.normalise(request.path)
        store.countRequest(endpoint: endpoint)
        if let format = TraceFormat(path: endpoint) {
            analyzeTraces(request, format: format, endpoint: endpoint)
        } else if endpoint.hasPrefix("/telemetry/proxy/api/v2/apmtelemetry") {
            analyzeTelemetry(request, endpoint: endpoint)
        } else if endpoint == V4OpenAIStreamRule.llmobsPath {
            analyzeLLMObs(request, endpoint: endpoint)
        }
    }

    /// Judges the agent's answer to `GET /info` (carries the agent version).
    public func analyzeAgentInfo(body: [UInt8], receivedAt: Date = Date()) {
        analyzeAgentInfo(body: body, receivedAt: receivedAt, source: "proxy")
    }

    @discardableResult
    public func analyzeAgentInfo(body: [UInt8], receivedAt: Date, source: String) -> Outcome {
        lastError = nil
        defer { lastError = nil }
        let at = ReportTime(receivedAt)
        var delta = Report()
        delta.startedAt = at
        delta.updatedAt = at
        do {
            let info = try AgentInfo.parse(body)
            let version = info.version.isEmpty ? "unknown" : info.version
            delta.traffic.agentVersions[version] = 1
            if V4AgentRule.isUnsupported(info.version) {
                delta.findings.append(Finding(rule: .agent, service: "datadog-agent", key: "version", kind: info.version,
                                              firstSeen: at, evidence: "GET /info answered version \(info.version)"))
            }
        } catch {
            recordDecodeError(into: &delta, source: source, endpoint: "/info (answer)", reason: error.reason, offset: error.offset, at: at)
        }
        store.record(delta)
        return Outcome(decodeError: lastError)
    }

    /// The language a request declares; nil when it does not say (judged as Python).
    static func language(of request: CapturedRequest) -> String? {
        (request.header("Datadog-Meta-Lang") ?? request.header("DD-Client-Library-Language"))?.lowercased()
    }

    private func recordDecodeError(into delta: inout Report, source: String, endpoint: String, reason: String, offset: Int, at: ReportTime) {
        lastError = (reason, offset)
        delta.traffic.decodeErrors.count += 1
        delta.traffic.decodeErrors.byEndpoint[endpoint, default: 0] += 1
        delta.traffic.decodeErrors.samples.append(DecodeError(source: source, endpoint: endpoint, reason: reason, offset: offset, at: at))
    }

    // MARK: - Traces

    private func analyzeTraces(_ request: CapturedRequest, format: TraceFormat, endpoint: String) {
        let at = ReportTime(request.receivedAt)
        var delta = Report()
        delta.startedAt = at
        delta.updatedAt = at
        if let lang = Self.language(of: request), lang != "python" {
            delta.traffic.otherLanguages[lang] = 1
            store.record(delta)
            return
        }
        table.reset()
        internalTable.reset()
        appSpans.removeAll(keepingCapacity: true)
        appOrder.removeAll(keepingCapacity: true)
        dbSpans.removeAll(keepingCapacity: true)
        driverSpans.removeAll(keepingCapacity: true)

        var currentTrace = -1
        // The spans' own time window: what the report's started_at / updated_at and the header
        // findings use, so that an audit of old captures shows when the traffic happened, not
        // when the files were copied (receivedAt is then a file time).
        var earliest = Int64.max, latest: Int64 = 0
        let summary: PayloadSummary
        do {
            summary = try request.body.withUnsafeBytes { bytes in
                try decoder.visit(bytes, format: format) { span in
                    if span.traceIndex != currentTrace {
                        resolveTwins()
                        currentTrace = span.traceIndex
                    }
                    if span.start > 0 {
                        earliest = min(earliest, span.start)
                        latest = max(latest, span.start)
                    }
                    judge(span, fallback: at)
                }
            }
            resolveTwins()
        } catch let error as MessagePackError {
            let reason = "\(format.rawValue) trace payload: " + Self.reasonText(error)
            recordDecodeError(into: &delta, source: request.source, endpoint: endpoint, reason: reason, offset: error.offset, at: at)
            store.record(delta)
            return
        } catch {
            recordDecodeError(into: &delta, source: request.source, endpoint: endpoint, reason: "\(error)", offset: 0, at: at)
            store.record(delta)
            return
        }

        delta.traffic.tracePayloads[format.rawValue] = 1
        delta.traffic.traces = summary.traces
        delta.traffic.spans = summary.spans
        var first = at, last = at
        if latest > 0 {
            first = ReportTime(nanoseconds: earliest)
            last = ReportTime(nanoseconds: latest)
            delta.startedAt = first
            delta.updatedAt = last
        }

        let tracer = request.header("Datadog-Meta-Tracer-Version") ?? ""
        let python = request.header("Datadog-Meta-Lang-Version") ?? ""
        for app in appOrder {
            var s = ServiceSummary()
            s.spans = appSpans[app.hash] ?? 0
            s.apiVersions[format.rawValue] = 1
            if !tracer.isEmpty { s.tracerVersions[tracer] = 1 }
            if !python.isEmpty { s.pythonVersions[python] = 1 }
            delta.services[app.view] = s
            if !python.isEmpty && V4PythonRule.isUnsupported(python) {
                delta.findings.append(Finding(rule: .python, service: app.view, kind: python, firstSeen: first, lastSeen: last,
                                              evidence: "Datadog-Meta-Lang-Version: \(python)"))
            }
            if !tracer.isEmpty && V4TracerRule.isBehind(tracer) {
                delta.findings.append(Finding(rule: .tracer, service: app.view, kind: tracer, firstSeen: first, lastSeen: last,
                                              evidence: "Datadog-Meta-Tracer-Version: \(tracer)"))
            }
        }
        delta.findings.append(contentsOf: table.findings)
        delta.internalStructTags = internalTable.findings
        store.record(delta)
    }

    static func reasonText(_ error: MessagePackError) -> String {
        let d = error.description
        let suffix = " at byte offset \(error.offset)"
        return d.hasSuffix(suffix) ? String(d.dropLast(suffix.count)) : d
    }

    /// Everything the rules read from one span, in one walk of its meta.
    @inline(__always)
    private func judge(_ span: borrowing SpanView, fallback: ReportTime) {
        var component = ByteView.empty
        var baseService = ByteView.empty
        var errorType = ByteView.empty
        var errorMessage = ByteView.empty
        var model = ByteView.empty
        let time = span.start > 0 ? ReportTime(nanoseconds: span.start) : fallback
        let service = span.service
        let name = span.name
        let resource = span.resource
        let traceID = span.traceID
        let spanID = span.spanID

        span.meta.forEach { k, v in
            if k.count > 9 && k[0] == UInt8(ascii: "_") && k.equals("_dd.base_service") { baseService = v; return }
            switch k.count {
            case 9 where k.equals("component"): component = v; return
            case 10 where k.equals("error.type"): errorType = v; return
            case 13 where k.equals("error.message"): errorMessage = v; return
            case 20 where k.equals("openai.request.model"): model = v
            case 21 where k.equals("openai.response.model"): if model.isEmpty { model = v }
            default: break
            }
            if let match = V4TagReprRule.judge(key: k, value: v) {
                record(.tagRepr, kind: UInt8(truncatingIfNeeded: PythonRepr.Kind.allCases.firstIndex(of: match.kind)!),
                       service: service, operation: name, resource: resource, key: k, time: time,
                       make: { s, o, r, key in
                           Finding(rule: .tagRepr, confidence: match.confidence, service: s, operation: o, resource: r,
                                   key: key, kind: match.kind.rawValue, firstSeen: time)
                       },
                       sample: { Sample(traceID: String(traceID), spanID: String(spanID), valueType: match.kind.rawValue,
                                        excerpt: self.store.redact ? nil : Sample.excerpt(of: v.string)) })
            }
        }

        let app = baseService.isEmpty ? service : baseService
        let appHash = fnv1a(app)
        if let n = appSpans[appHash] {
            appSpans[appHash] = n + 1
        } else {
            appSpans[appHash] = 1
            appOrder.append((appHash, strings.string(app, hash: appHash)))
        }

        if !span.metrics.isEmpty {
            span.metrics.forEach { k, number in
                guard V4TagNumericRule.judge(key: k) else { return }
                record(.tagNumeric, kind: 0, service: service, operation: .empty, resource: .empty, key: k, time: time,
                       make: { s, _, _, key in
                           Finding(rule: .tagNumeric, service: s, key: key, firstSeen: time)
                       },
                       sample: { Sample(traceID: String(traceID), spanID: String(spanID), valueType: number.isInteger ? "int" : "float",
                                        excerpt: self.store.redact ? nil : Sample.excerpt(of: Self.numberText(number.value)),
                                        operation: name.string) })
            }
        }

        if !span.metaStruct.isEmpty {
            span.metaStruct.forEach { k, encoded in
                let kind = V4StructTagRule.kind(ofKey: k)
                let valueType = Self.msgpackTypeName(encoded)
                if kind == .user {
                    record(.structTag, kind: 0, service: service, operation: name, resource: resource, key: k, time: time,
                           make: { s, o, r, key in
                               Finding(rule: .structTag, service: s, operation: o, resource: r, key: key, kind: "user", firstSeen: time)
                           },
                           sample: { Sample(traceID: String(traceID), spanID: String(spanID), valueType: valueType) })
                } else {
                    let key = FindingTable.Key(rule: RuleID.structTag.index, kind: 1, service: fnv1a(service), operation: fnv1a(name),
                                               resource: 0, key: fnv1a(k))
                    internalTable.hit(key, at: time, make: {
                        Finding(rule: .structTag, severity: .check, confidence: .high, service: service.string, operation: name.string,
                                key: k.string, kind: "internal", firstSeen: time,
                                fix: "Nothing to do: ddtrace writes this struct tag itself (AppSec/IAST/exploit prevention).")
                    }, sample: { Sample(traceID: String(traceID), spanID: String(spanID), valueType: valueType) })
                }
            }
        }

        if let kind = V4DjangoMinimalRule.kind(name: name, type: span.type, component: component) {
            let appName = strings.string(app, hash: appHash)
            let slot = record(.djangoMinimal, kind: UInt8(truncatingIfNeeded: V4DjangoMinimalRule.Kind.allCases.firstIndex(of: kind)!),
                              service: service, operation: name, resource: resource, key: .empty, time: time,
                              make: { s, o, r, _ in
                                  Finding(rule: .djangoMinimal, service: s, operation: o, resource: r, kind: kind.rawValue, firstSeen: time,
                                          fix: V4DjangoMinimalRule.fix(for: kind),
                                          app: appName, twinSeen: kind == .database ? 0 : nil)
                              },
                              sample: { Sample(traceID: String(traceID), spanID: String(spanID)) })
            if kind == .database {
                dbSpans.append(DBSpan(spanID: spanID, parentID: span.parentID, name: fnv1a(name), resource: fnv1a(resource), slot: slot))
            }
        } else if V4DjangoMinimalRule.isDriverTwin(name: name, component: component) {
            driverSpans.append(DriverSpan(spanID: spanID, parentID: span.parentID, name: fnv1a(name), resource: fnv1a(resource)))
        }

        if let integration = V4IntegrationRule.removedIntegration(component: component) {
            record(.integration, kind: 1, service: service, operation: name, resource: .empty, key: component, time: time,
                   make: { s, o, _, _ in
                       Finding(rule: .integration, service: s, operation: o, key: integration, kind: "span", firstSeen: time,
                               fix: V4IntegrationRule.fix(for: integration))
                   },
                   sample: { Sample(traceID: String(traceID), spanID: String(spanID)) })
        }

        if V4OpenAIStreamRule.isOpenAISpan(component: component) {
            record(.openAIStream, kind: 0, service: service, operation: .empty, resource: .empty, key: model, time: time,
                   make: { s, _, _, m in
                       Finding(rule: .openAIStream, service: s, key: m.isEmpty ? nil : m, kind: "apm", firstSeen: time,
                               evidence: "OpenAI APM spans (the wire cannot show whether calls stream)")
                   },
                   sample: { Sample(traceID: String(traceID), spanID: String(spanID), operation: name.string) })
        }

        if span.error != 0 || !errorType.isEmpty, V4RemovedAPIRule.isCandidateErrorType(errorType), !errorMessage.isEmpty,
           let api = V4RemovedAPIRule.removedAPI(inMessage: errorMessage.string) {
            record(.removedAPI, kind: 0, service: service, operation: name, resource: resource, key: errorType, time: time,
                   make: { s, o, r, _ in
                       Finding(rule: .removedAPI, service: s, operation: o, resource: r, key: api, kind: errorType.string, firstSeen: time,
                               evidence: "error.message: " + Sample.excerpt(of: errorMessage.string))
                   },
                   sample: { Sample(traceID: String(traceID), spanID: String(spanID), valueType: errorType.string,
                                    excerpt: self.store.redact ? nil : Sample.excerpt(of: errorMessage.string)) })
        }
    }

    /// Records one occurrence in the payload's table; strings are copied only for a new group.
    @inline(__always)
    @discardableResult
    private func record(_ rule: RuleID, kind: UInt8, service: ByteView, operation: ByteView, resource: ByteView, key: ByteView,
                        time: ReportTime, make: (String, String, String, String) -> Finding, sample: () -> Sample?) -> Int {
        let sh = fnv1a(service), oh = fnv1a(operation), rh = fnv1a(resource), kh = fnv1a(key)
        let k = FindingTable.Key(rule: rule.index, kind: kind, service: sh, operation: oh, resource: rh, key: kh)
        return table.hit(k, at: time, make: {
            make(strings.string(service, hash: sh), strings.string(operation, hash: oh), resource.string, key.string)
        }, sample: sample)
    }

    /// Marks the django-database spans of the finished trace whose driver twin was seen.
    private func resolveTwins() {
        defer {
            dbSpans.removeAll(keepingCapacity: true)
            driverSpans.removeAll(keepingCapacity: true)
        }
        guard !dbSpans.isEmpty, !driverSpans.isEmpty else { return }
        for db in dbSpans {
            let twin = driverSpans.contains {
                $0.name == db.name && $0.resource == db.resource && ($0.parentID == db.spanID || db.parentID == $0.spanID)
            }
            if twin { table.findings[db.slot].twinSeen = (table.findings[db.slot].twinSeen ?? 0) + 1 }
        }
    }

    static func numberText(_ v: Double) -> String {
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return String(v)
    }

    static func msgpackTypeName(_ encoded: ByteView) -> String {
        guard encoded.count > 0, let t = MessagePackReader.type(of: encoded[0]) else { return "msgpack" }
        return "msgpack \(t)"
    }

    // MARK: - Telemetry

    private func analyzeTelemetry(_ request: CapturedRequest, endpoint: String) {
        var at = ReportTime(request.receivedAt)
        var delta = Report()
        delta.startedAt = at
        delta.updatedAt = at
        let message: TelemetryMessage
        do {
            message = try TelemetryMessage.parse(request.body)
        } catch {
            recordDecodeError(into: &delta, source: request.source, endpoint: endpoint, reason: error.reason, offset: error.offset, at: at)
            store.record(delta)
            return
        }
        if message.tracerTime > 0 {
            // The tracer's own clock (`tracer_time`): when it happened, for captured files too.
            at = ReportTime(milliseconds: Int64((message.tracerTime * 1000).rounded(.down)))
            delta.startedAt = at
            delta.updatedAt = at
        }
        let app = message.application
        let lang = app.languageName.isEmpty ? (Self.language(of: request) ?? "python") : app.languageName.lowercased()
        guard lang == "python" else {
            delta.traffic.otherLanguages[lang] = 1
            store.record(delta)
            return
        }
        delta.traffic.telemetryMessages = 1
        let service = app.serviceName
        var summary = ServiceSummary()
        if !app.tracerVersion.isEmpty { summary.tracerVersions[app.tracerVersion] = 1 }
        if !app.languageVersion.isEmpty { summary.pythonVersions[app.languageVersion] = 1 }
        let config = message.effectiveConfiguration
        if let api = config["DD_TRACE_API_VERSION"] { summary.configuredAPIVersion = api.value }
        delta.services[service] = summary

        if V4PythonRule.isUnsupported(app.languageVersion) {
            delta.findings.append(Finding(rule: .python, service: service, kind: app.languageVersion, firstSeen: at,
                                          evidence: "telemetry application.language_version \(app.languageVersion)"))
        }
        if V4TracerRule.isBehind(app.tracerVersion) {
            delta.findings.append(Finding(rule: .tracer, service: service, kind: app.tracerVersion, firstSeen: at,
                                          evidence: "telemetry application.tracer_version \(app.tracerVersion)"))
        }
        for f in V4ConfigRule.judge(config) {
            delta.findings.append(Finding(rule: .config, confidence: f.confidence, service: service, key: f.setting, firstSeen: at,
                                          fix: f.fix, evidence: f.observed))
        }
        for name in V4PlatformRule.settingNames.sorted() {
            if let e = config[name], V4PlatformRule.is32BitLinux(e.value) {
                delta.findings.append(Finding(rule: .platform, service: service, key: name, kind: e.value, firstSeen: at,
                                              evidence: "telemetry \(name)=\(e.value)"))
            }
        }
        var seenIntegrations = Set<String>()
        for i in message.integrations where i.enabled {
            guard let removed = V4IntegrationRule.removedIntegration(telemetryName: i.name), seenIntegrations.insert(removed).inserted else { continue }
            delta.findings.append(Finding(rule: .integration, service: service, key: removed, kind: "telemetry", firstSeen: at,
                                          fix: V4IntegrationRule.fix(for: removed),
                                          evidence: "telemetry integration \(i.name) enabled" + (i.version.isEmpty ? "" : " (version \(i.version))")))
        }
        store.record(delta)
    }

    // MARK: - LLM Observability

    private func analyzeLLMObs(_ request: CapturedRequest, endpoint: String) {
        let at = ReportTime(request.receivedAt)
        var delta = Report()
        delta.startedAt = at
        delta.updatedAt = at
        do {
            let object = try JSONSerialization.jsonObject(with: Data(request.body), options: [])
            for call in V4OpenAIStreamRule.streamedCalls(inLLMObsBody: object) {
                delta.findings.append(Finding(rule: .openAIStream, service: call.service, key: call.model.isEmpty ? nil : call.model,
                                              kind: "llmobs", firstSeen: at,
                                              evidence: "LLM Observability span with metadata.stream = true"))
            }
        } catch {
            recordDecodeError(into: &delta, source: request.source, endpoint: endpoint,
                              reason: "invalid LLM Observability JSON (\(JSONField.describe(error)))",
                              offset: JSONSyntax.firstErrorOffset(request.body) ?? JSONField.errorOffset(error), at: at)
        }
        store.record(delta)
    }
}
