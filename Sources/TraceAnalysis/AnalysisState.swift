import CompatReport
import CompatRules
import Foundation
import MessagePack
import TracePayload

/// What one `Analyzer` folds between two hand-overs, and the analysis itself, as a value: the
/// analyzer runs it under its lock as one mutating access per request, so the hot path pays no
/// runtime exclusivity check per field (it did as the class's own stored properties).
struct AnalysisState {
    let store: ReportStore
    var table: FindingTable
    var internalTable: FindingTable

    let handOverInterval: UInt64

    init(store: ReportStore, handOverInterval: UInt64) {
        self.store = store
        self.handOverInterval = handOverInterval
        table = FindingTable(sampleLimit: store.sampleLimit, limits: store.limits)
        internalTable = FindingTable(sampleLimit: store.sampleLimit, limits: store.limits)
    }

    /// Judges one request.
    mutating func analyze(_ request: CapturedRequest) -> Analyzer.Outcome {
        lastError = nil
        defer { lastError = nil }
        dispatch(request)
        return Analyzer.Outcome(decodeError: lastError)
    }

    /// True when the hand-over interval has passed.
    var handOverIsDue: Bool { DispatchTime.now().uptimeNanoseconds &- lastHandOver >= handOverInterval }

    /// Everything folded since the last hand-over as one batch (nil when nothing), and a fresh start.
    mutating func takeBatch() -> Report? {
        lastHandOver = DispatchTime.now().uptimeNanoseconds
        foldRequestTallies()
        for app in apps where app.spans > 0 {
            pending.services[app.name, default: ServiceSummary()].spans += app.spans
        }
        appSlots.removeAll()
        apps.removeAll(keepingCapacity: true)
        if let canaryApps = canary.take() { pending.canary = canaryApps }
        guard pending != Report() || !table.isEmpty || !internalTable.isEmpty else { return nil }
        var batch = pending
        batch.findings = table.findings
        batch.internalStructTags = internalTable.findings
        pending = Report()
        table.reset()
        internalTable.reset()
        return batch
    }

    var decoder = TracePayloadDecoder()
    /// Traffic, services and times since the last hand-over (findings live in the tables).
    var pending = Report()
    var strings = StringCache()
    var shape = ResourceShape()
    /// Raw resource hash → normalised resource hash (bounded: cleared when full).
    var shapes = HashIndex(capacity: 1024)
    /// Apps seen since the last hand-over: hash of the name → slot in `apps`.
    var appSlots = HashIndex(capacity: 64)
    var apps: [App] = []
    /// Slots of the apps of the current payload (for its per-request counts and header findings).
    var payloadApps: [Int] = []
    var lastHandOver: UInt64 = DispatchTime.now().uptimeNanoseconds
    /// Requests per (app, format, tracer and Python version) since the last fold.
    var requestTallies: [RequestTally] = []
    /// The version headers last seen and what they mean (see `analyzeTraces`).
    var headerVerdicts: (tracer: String, python: String, major: (name: String, hash: UInt64)?, pythonUnsupported: Bool, tracerBehind: Bool)
        = ("", "", nil, false, false)
    /// V4-TAG-NUMERIC's verdict per metrics key (`shortHash`): 1 a user key, 2 a key ddtrace writes.
    var metricVerdicts = HashIndex(capacity: 256)
    /// Twin bookkeeping for V4-DJANGO-MINIMAL within one trace.
    var dbSpans: [DBSpan] = []
    var driverSpans: [DriverSpan] = []
    /// V4-TAG-REPR matches of the current span, recorded once its app is known.
    var reprs: [(key: ByteView, value: ByteView, match: PythonRepr.Match)] = []
    /// V4-CANARY-DIFF profiles, the current request's tracer major version (nil: not profiled)
    /// and a trace number unique across payloads.
    var canary = CanaryAccumulator()
    var canaryMajor: (name: String, hash: UInt64)?
    var traceSerial = 0

    struct App { var name: String; var hash: UInt64; var spans: Int; var inPayload: Bool }
    struct RequestTally { var app: String; var appHash: UInt64; var format: TraceFormat; var tracer: String; var python: String; var requests: Int }
    struct DBSpan { var spanID: UInt64; var parentID: UInt64; var name: UInt64; var resource: UInt64; var slot: Int }
    struct DriverSpan { var spanID: UInt64; var parentID: UInt64; var name: UInt64; var resource: UInt64 }

    // MARK: - Requests

    var lastError: (reason: String, offset: Int)?

    /// Records a file or request that could not even be read as a request (audit: a foreign or
    /// damaged file), counted with the decode errors.
    mutating func recordUnreadable(source: String, endpoint: String, reason: String, offset: Int, at: Date) {
        let t = ReportTime(at)
        seen(t)
        recordDecodeError(source: source, endpoint: endpoint, reason: reason, offset: offset, at: t)
    }

    /// Widens the pending time window to `t`.
    mutating func seen(_ first: ReportTime, _ last: ReportTime? = nil) {
        let last = last ?? first
        if pending.startedAt.map({ first < $0 }) ?? true { pending.startedAt = first }
        if pending.updatedAt.map({ last > $0 }) ?? true { pending.updatedAt = last }
    }

    mutating func dispatch(_ request: CapturedRequest) {
        let endpoint = ReportStore.normalise(request.path)
        countRequest(endpoint)
        switch EndpointClass(method: request.method, uri: request.path).analysis {
        case .tracePayload(let format): analyzeTraces(request, format: format, endpoint: endpoint)
        case .telemetry: analyzeTelemetry(request, endpoint: endpoint)
        case .llmObs: analyzeLLMObs(request, endpoint: endpoint)
        case .notDecoded(let reason):
            // Forwarded untouched: counted as not analysed, with the reason, never as a decode error.
            Self.bump(&pending.traffic.notAnalysed, endpoint, limit: ReportStore.endpointLimit)
            var reasons = pending.traffic.notAnalysedReasons ?? [:]
            if reasons.count < ReportStore.endpointLimit { reasons[endpoint] = reason }
            pending.traffic.notAnalysedReasons = reasons
        case .agentInfo, .countOnly: break
        }
    }

    /// Judges the `Datadog-Agent-Version` header of an agent's answer (the Agent's trace receiver
    /// sets it on every response, spec revision "Agent version on every answer"), so V4-AGENT
    /// does not depend on the app calling `/info` through the proxy.
    mutating func analyzeAgentVersion(_ version: String, receivedAt: Date) {
        let at = ReportTime(receivedAt)
        seen(at)
        countAgentVersion(version.isEmpty ? "unknown" : version)
        if V4AgentRule.isUnsupported(version) {
            table.add(Finding(rule: .agent, service: "datadog-agent", key: "version", kind: version,
                              firstSeen: at, evidence: "Datadog-Agent-Version: \(version) on the agent's answers"))
        }
    }

    mutating func analyzeAgentInfo(body: [UInt8], receivedAt: Date, source: String) -> Analyzer.Outcome {
        lastError = nil
        defer { lastError = nil }
        let at = ReportTime(receivedAt)
        seen(at)
        do {
            let info = try AgentInfo.parse(body)
            let version = info.version.isEmpty ? "unknown" : info.version
            countAgentVersion(version)
            if V4AgentRule.isUnsupported(info.version) {
                table.add(Finding(rule: .agent, service: "datadog-agent", key: "version", kind: info.version,
                                  firstSeen: at, evidence: "GET /info answered version \(info.version)"))
            }
        } catch {
            recordDecodeError(source: source, endpoint: "/info (answer)", reason: error.reason, offset: error.offset, at: at)
        }
        return Analyzer.Outcome(decodeError: lastError)
    }

    /// Counts one request by endpoint (normalised path), within `ReportStore.endpointLimit`.
    mutating func countRequest(_ endpoint: String) {
        Self.bump(&pending.traffic.requestsByEndpoint, endpoint, limit: ReportStore.endpointLimit)
    }

    mutating func countAgentVersion(_ version: String) {
        Self.bump(&pending.traffic.agentVersions, version, limit: AnalysisLimits.languages)
    }

    /// `counts[name] += 1`, or `counts["other"]` when `limit` names are there already.
    static func bump(_ counts: inout [String: Int], _ name: String, limit: Int) {
        if let n = counts[name] { counts[name] = n + 1; return }
        counts[counts.count < limit ? name : ReportLimits.other, default: 0] += 1
    }


    mutating func recordDecodeError(source: String, endpoint: String, reason: String, offset: Int, at: ReportTime) {
        lastError = (reason, offset)
        let errors = pending.traffic.decodeErrors
        pending.traffic.decodeErrors.count += 1
        Self.bump(&pending.traffic.decodeErrors.byEndpoint, endpoint, limit: ReportStore.endpointLimit)
        if errors.samples.count < DecodeErrors.sampleLimit {
            pending.traffic.decodeErrors.samples.append(DecodeError(source: source, endpoint: endpoint, reason: reason, offset: offset, at: at))
        }
    }

    // MARK: - Traces

    mutating func analyzeTraces(_ request: CapturedRequest, format: TraceFormat, endpoint: String) {
        let at = ReportTime(request.receivedAt)
        // Compared without lowercasing: `lowercased()` goes through Unicode case mapping, a
        // measurable share of a small payload's analysis; HTTP gives "python" in ASCII.
        if let value = Analyzer.languageHeader(of: request), !CapturedRequest.asciiCaseInsensitiveEquals(value, "python") {
            seen(at)
            Self.bump(&pending.traffic.otherLanguages, value.lowercased(), limit: AnalysisLimits.languages)
            return
        }
        payloadApps.removeAll(keepingCapacity: true)
        dbSpans.removeAll(keepingCapacity: true)
        driverSpans.removeAll(keepingCapacity: true)

        var currentTrace = -1
        let tracer = request.header("Datadog-Meta-Tracer-Version") ?? ""
        let python = request.header("Datadog-Meta-Lang-Version") ?? ""
        // What the version headers mean, worked out once per distinct pair (they repeat on every
        // payload of an app): the canary's major version and the header rules' verdicts.
        if tracer != headerVerdicts.tracer || python != headerVerdicts.python {
            let major = V4CanaryDiffRule.major(ofTracerVersion: tracer).map { ($0, byteHash($0)) }
            headerVerdicts = (tracer, python, major, !python.isEmpty && V4PythonRule.isUnsupported(python),
                              !tracer.isEmpty && V4TracerRule.isBehind(tracer))
        }
        canaryMajor = headerVerdicts.major
        // The spans' own time window: what the report's started_at / updated_at and the header
        // findings use, so that an audit of old captures shows when the traffic happened, not
        // when the files were copied (receivedAt is then a file time).
        var earliest = Int64.max, latest: Int64 = 0
        let summary: PayloadSummary
        // The decoder is taken out while it visits (its closure works on the rest of this state).
        var decoder = TracePayloadDecoder()
        swap(&decoder, &self.decoder)
        defer { swap(&decoder, &self.decoder) }
        do {
            summary = try request.body.withUnsafeBytes { bytes in
                try decoder.visit(bytes, format: format) { span in
                    if span.traceIndex != currentTrace {
                        resolveTwins()
                        currentTrace = span.traceIndex
                        traceSerial &+= 1
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
            // The spans judged before the error stay counted in their findings; the payload is a decode error.
            for slot in payloadApps { apps[slot].inPayload = false }
            seen(at)
            let reason = "\(format.rawValue) trace payload: " + Analyzer.reasonText(error)
            recordDecodeError(source: request.source, endpoint: endpoint, reason: reason, offset: error.offset, at: at)
            return
        } catch {
            for slot in payloadApps { apps[slot].inPayload = false }
            seen(at)
            recordDecodeError(source: request.source, endpoint: endpoint, reason: "\(error)", offset: 0, at: at)
            return
        }

        pending.traffic.tracePayloads[format.rawValue, default: 0] += 1
        pending.traffic.traces += summary.traces
        pending.traffic.spans += summary.spans
        var first = at, last = at
        if latest > 0 {
            first = ReportTime(nanoseconds: earliest)
            last = ReportTime(nanoseconds: latest)
        }
        seen(first, last)

        // The header rules that fire for this request (usually none: nothing allocated then).
        var headerFindings: [(RuleID, String, String)] = []
        if headerVerdicts.pythonUnsupported { headerFindings.append((.python, "Datadog-Meta-Lang-Version", python)) }
        if headerVerdicts.tracerBehind { headerFindings.append((.tracer, "Datadog-Meta-Tracer-Version", tracer)) }
        for slot in payloadApps {
            apps[slot].inPayload = false
            let app = apps[slot]
            // Per request and app: which API, tracer and Python it used (tallied, folded into
            // the services at the hand-over).
            tallyRequest(app: app, format: format, tracer: tracer, python: python)
            for (rule, header, value) in headerFindings {
                table.hit(FindingTable.Key(rule: rule.index, kind: 0, app: app.hash, service: app.hash, operation: 0, resource: 0, key: byteHash(value)),
                          first: first, last: last,
                          make: { Finding(rule: rule, service: app.name, kind: value, firstSeen: first, lastSeen: last,
                                          evidence: "\(header): \(value)", app: app.name) },
                          sample: { nil })
            }
        }
    }

    /// Counts one request of `app` with these versions in `requestTallies`; when the tallies are
    /// full (`AnalysisLimits.requestTallies`), they are folded into `pending` first.
    mutating func tallyRequest(app: App, format: TraceFormat, tracer: String, python: String) {
        for i in requestTallies.indices where requestTallies[i].appHash == app.hash && requestTallies[i].format == format
            && requestTallies[i].tracer == tracer && requestTallies[i].python == python {
            requestTallies[i].requests += 1
            return
        }
        if requestTallies.count >= AnalysisLimits.requestTallies { foldRequestTallies() }
        requestTallies.append(RequestTally(app: app.name, appHash: app.hash, format: format, tracer: tracer, python: python, requests: 1))
    }

    /// Adds the request tallies to the pending services.
    mutating func foldRequestTallies() {
        for t in requestTallies {
            var s = pending.services[t.app] ?? ServiceSummary()
            s.apiVersions[t.format.rawValue, default: 0] += t.requests
            if !t.tracer.isEmpty { s.tracerVersions[t.tracer, default: 0] += t.requests }
            if !t.python.isEmpty { s.pythonVersions[t.python, default: 0] += t.requests }
            pending.services[t.app] = s
        }
        requestTallies.removeAll(keepingCapacity: true)
    }

    /// The slot of the app named `name` (hash `hash`), counted as "other" beyond `limits.apps`.
    @inline(__always)
    mutating func appSlot(_ name: ByteView, hash: UInt64) -> Int {
        if let slot = appSlots[hash] { return slot }
        var n = strings.string(name, hash: hash), h = hash
        if apps.count >= store.limits.apps {
            n = ReportLimits.other
            h = byteHash(ReportLimits.other)
            if let slot = appSlots[h] { appSlots.set(hash, slot); return slot }
        }
        apps.append(App(name: n, hash: h, spans: 0, inPayload: false))
        appSlots.set(h, apps.count - 1)
        appSlots.set(hash, apps.count - 1)
        return apps.count - 1
    }


    /// Everything the rules read from one span, in one walk of its meta.
    @inline(__always)
    mutating func judge(_ span: borrowing SpanView, fallback: ReportTime) {
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
        let redact = store.redact
        reprs.removeAll(keepingCapacity: true)
        // The canary profile's key sets, summed in the walks the rules make anyway.
        let profiling = canaryMajor != nil
        var metaKeys = CanaryAccumulator.KeySignature(), metricKeys = CanaryAccumulator.KeySignature()

        span.meta.forEach { k, v in
            if profiling { metaKeys.add(k) }
            if k.count > 9 && k[0] == UInt8(ascii: "_") && k.equals("_dd.base_service") { baseService = v; return }
            switch k.count {
            case 9 where k.equals("component"): component = v; return
            case 10 where k.equals("error.type"): errorType = v; return
            case 13 where k.equals("error.message"): errorMessage = v; return
            case 20 where k.equals("openai.request.model"): model = v
            case 21 where k.equals("openai.response.model"): if model.isEmpty { model = v }
            default: break
            }
            // Judged now, recorded once the span's app is known (the base service may come later).
            if let match = V4TagReprRule.judge(key: k, value: v) { reprs.append((k, v, match)) }
        }

        let appName = baseService.isEmpty ? service : baseService
        let slot = appSlot(appName, hash: byteHash(appName))
        apps[slot].spans += 1
        if !apps[slot].inPayload {
            apps[slot].inPayload = true
            payloadApps.append(slot)
        }
        let app = apps[slot]

        for (k, v, match) in reprs {
            record(.tagRepr, kind: UInt8(truncatingIfNeeded: PythonRepr.Kind.allCases.firstIndex(of: match.kind)!), app: app,
                   service: service, operation: name, resource: resource, key: k, time: time,
                   make: { s, o, r, key in
                       Finding(rule: .tagRepr, confidence: match.confidence, service: s, operation: o, resource: r,
                               key: key, kind: match.kind.rawValue, firstSeen: time, fix: V4TagReprRule.fix(for: match.kind), app: app.name)
                   },
                   sample: { Sample(traceID: String(traceID), spanID: String(spanID), valueType: match.kind.rawValue,
                                    excerpt: redact ? nil : Sample.excerpt(of: v.string)) })
        }

        if !span.metrics.isEmpty {
            span.metrics.forEach { k, number in
                let h = shortHash(k)
                if profiling { metricKeys.add(hash: h) }
                // The verdict per key is cached: the same few dozen keys repeat on every span.
                let verdict: Int
                if let known = metricVerdicts[h] { verdict = known } else {
                    verdict = V4TagNumericRule.judge(key: k) ? 1 : 2
                    if metricVerdicts.count >= AnalysisLimits.metricVerdictsCached { metricVerdicts.removeAll() }
                    metricVerdicts.set(h, verdict)
                }
                guard verdict == 1 else { return }
                record(.tagNumeric, kind: 0, app: app, service: service, operation: .empty, resource: .empty, key: k, time: time,
                       make: { s, _, _, key in
                           Finding(rule: .tagNumeric, service: s, key: key, firstSeen: time, app: app.name)
                       },
                       sample: { Sample(traceID: String(traceID), spanID: String(spanID), valueType: number.isInteger ? "int" : "float",
                                        excerpt: redact ? nil : Sample.excerpt(of: Analyzer.numberText(number.value)),
                                        operation: name.string) })
            }
        }

        if let major = canaryMajor {
            canary.add(span, app: app.name, appHash: app.hash, major: major.name, majorHash: major.hash, trace: traceSerial,
                       component: component, meta: metaKeys, metrics: metricKeys, strings: &strings)
        }

        if !span.metaStruct.isEmpty {
            span.metaStruct.forEach { k, encoded in
                let kind = V4StructTagRule.kind(ofKey: k)
                let valueType = Analyzer.msgpackTypeName(encoded)
                if kind == .user {
                    record(.structTag, kind: 0, app: app, service: service, operation: name, resource: resource, key: k, time: time,
                           make: { s, o, r, key in
                               Finding(rule: .structTag, service: s, operation: o, resource: r, key: key, kind: "user", firstSeen: time, app: app.name)
                           },
                           sample: { Sample(traceID: String(traceID), spanID: String(spanID), valueType: valueType) })
                } else {
                    let key = FindingTable.Key(rule: RuleID.structTag.index, kind: 1, app: app.hash, service: byteHash(service), operation: byteHash(name),
                                               resource: 0, key: byteHash(k))
                    internalTable.hit(key, at: time, make: {
                        Finding(rule: .structTag, severity: .check, confidence: .high, service: service.string, operation: name.string,
                                key: k.string, kind: "internal", firstSeen: time,
                                fix: "Nothing to do: ddtrace writes this struct tag itself (AppSec/IAST/exploit prevention).", app: app.name)
                    }, sample: { Sample(traceID: String(traceID), spanID: String(spanID), valueType: valueType) })
                }
            }
        }

        if let kind = V4DjangoMinimalRule.kind(name: name, type: span.type, component: component) {
            let slot = record(.djangoMinimal, kind: UInt8(truncatingIfNeeded: V4DjangoMinimalRule.Kind.allCases.firstIndex(of: kind)!),
                              app: app, service: service, operation: name, resource: resource, key: .empty, time: time,
                              make: { s, o, r, _ in
                                  Finding(rule: .djangoMinimal, service: s, operation: o, resource: r, kind: kind.rawValue, firstSeen: time,
                                          fix: V4DjangoMinimalRule.fix(for: kind),
                                          app: app.name, twinSeen: kind == .database ? 0 : nil)
                              },
                              sample: { Sample(traceID: String(traceID), spanID: String(spanID)) })
            if kind == .database {
                dbSpans.append(DBSpan(spanID: spanID, parentID: span.parentID, name: byteHash(name), resource: byteHash(resource), slot: slot))
            }
        } else if V4DjangoMinimalRule.isDriverTwin(name: name, component: component) {
            driverSpans.append(DriverSpan(spanID: spanID, parentID: span.parentID, name: byteHash(name), resource: byteHash(resource)))
        }

        if let integration = V4IntegrationRule.removedIntegration(component: component) {
            record(.integration, kind: 1, app: app, service: service, operation: name, resource: .empty, key: component, time: time,
                   make: { s, o, _, _ in
                       Finding(rule: .integration, service: s, operation: o, key: integration, kind: "span", firstSeen: time,
                               fix: V4IntegrationRule.fix(for: integration), app: app.name)
                   },
                   sample: { Sample(traceID: String(traceID), spanID: String(spanID)) })
        }

        if V4OpenAIStreamRule.isOpenAISpan(component: component) {
            record(.openAIStream, kind: 0, app: app, service: service, operation: .empty, resource: .empty, key: model, time: time,
                   make: { s, _, _, m in
                       Finding(rule: .openAIStream, service: s, key: m.isEmpty ? nil : m, kind: "apm", firstSeen: time,
                               evidence: "OpenAI APM spans (the wire cannot show whether calls stream)", app: app.name)
                   },
                   sample: { Sample(traceID: String(traceID), spanID: String(spanID), operation: name.string) })
        }

        if span.error != 0 || !errorType.isEmpty, V4RemovedAPIRule.isCandidateErrorType(errorType), !errorMessage.isEmpty,
           let api = V4RemovedAPIRule.removedAPI(inMessage: errorMessage.string) {
            record(.removedAPI, kind: 0, app: app, service: service, operation: name, resource: resource, key: errorType, time: time,
                   make: { s, o, r, _ in
                       Finding(rule: .removedAPI, service: s, operation: o, resource: r, key: api, kind: errorType.string, firstSeen: time,
                               evidence: "error.message: " + Sample.excerpt(of: errorMessage.string), app: app.name)
                   },
                   sample: { Sample(traceID: String(traceID), spanID: String(spanID), valueType: errorType.string,
                                    excerpt: redact ? nil : Sample.excerpt(of: errorMessage.string)) })
        }
    }

    /// Records one occurrence in the thread's table; the resource is normalised first
    /// (`ResourceShape`), and strings are copied only for a new group.
    @inline(__always)
    @discardableResult
    mutating func record(_ rule: RuleID, kind: UInt8, app: App, service: ByteView, operation: ByteView, resource: ByteView, key: ByteView,
                        time: ReportTime, make: (String, String, String, String) -> Finding, sample: () -> Sample?) -> Int {
        let sh = byteHash(service), oh = byteHash(operation), kh = byteHash(key)
        var rh: UInt64 = 0
        var shaped = false
        if !resource.isEmpty {
            // The normalised hash of a raw resource seen before (the same queries repeat).
            let raw = byteHash(resource)
            if let known = shapes[raw] {
                rh = UInt64(bitPattern: Int64(known))
            } else {
                shape.normalise(resource)
                shaped = true
                rh = shape.bytes.withUnsafeBytes { byteHash(ByteView($0)) }
                if shapes.count >= AnalysisLimits.shapesCached { shapes.removeAll() }
                shapes.set(raw, Int(Int64(bitPattern: rh)))
            }
        }
        let k = FindingTable.Key(rule: rule.index, kind: kind, app: app.hash, service: sh, operation: oh, resource: rh, key: kh)
        if let slot = table.count(k, first: time, last: time, sample: sample) { return slot }
        if !resource.isEmpty && !shaped { shape.normalise(resource) }
        let finding = make(strings.string(service, hash: sh), strings.string(operation, hash: oh),
                           resource.isEmpty ? "" : String(decoding: shape.bytes, as: UTF8.self), key.string)
        return table.insert(k, first: time, last: time, finding: finding, sample: table.sampleLimit > 0 ? sample() : nil)
    }

    /// Marks the django-database spans of the finished trace whose driver twin was seen.
    mutating func resolveTwins() {
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



    // MARK: - Telemetry

    mutating func analyzeTelemetry(_ request: CapturedRequest, endpoint: String) {
        var at = ReportTime(request.receivedAt)
        let message: TelemetryMessage
        do {
            message = try TelemetryMessage.parse(request.body)
        } catch {
            seen(at)
            recordDecodeError(source: request.source, endpoint: endpoint, reason: error.reason, offset: error.offset, at: at)
            return
        }
        if message.tracerTime > 0 {
            // The tracer's own clock (`tracer_time`): when it happened, for captured files too.
            at = ReportTime(milliseconds: Int64((message.tracerTime * 1000).rounded(.down)))
        }
        seen(at)
        let app = message.application
        let lang = app.languageName.isEmpty ? (Analyzer.language(of: request) ?? "python") : app.languageName.lowercased()
        guard lang == "python" else {
            Self.bump(&pending.traffic.otherLanguages, lang, limit: AnalysisLimits.languages)
            return
        }
        pending.traffic.telemetryMessages += 1
        let service = app.serviceName
        var summary = ServiceSummary()
        if !app.tracerVersion.isEmpty { summary.tracerVersions[app.tracerVersion] = 1 }
        if !app.languageVersion.isEmpty { summary.pythonVersions[app.languageVersion] = 1 }
        let config = message.effectiveConfiguration
        // Reported only when set: telemetry says "" (or null) for "unset", which the report omits.
        if let api = config["DD_TRACE_API_VERSION"], !api.value.isEmpty { summary.configuredAPIVersion = api.value }
        pending.services[service, default: ServiceSummary()].merge(summary)
        /// Telemetry findings belong to the app that sent the message.
        func add(_ finding: Finding) {
            var f = finding
            f.app = service
            table.add(f)
        }

        if V4PythonRule.isUnsupported(app.languageVersion) {
            add(Finding(rule: .python, service: service, kind: app.languageVersion, firstSeen: at,
                                          evidence: "telemetry application.language_version \(app.languageVersion)"))
        }
        if V4TracerRule.isBehind(app.tracerVersion) {
            add(Finding(rule: .tracer, service: service, kind: app.tracerVersion, firstSeen: at,
                                          evidence: "telemetry application.tracer_version \(app.tracerVersion)"))
        }
        for f in V4ConfigRule.judge(config) {
            add(Finding(rule: .config, confidence: f.confidence, service: service, key: f.setting, firstSeen: at,
                                          fix: f.fix, evidence: f.observed))
        }
        for name in V4PlatformRule.settingNames.sorted() {
            if let e = config[name], V4PlatformRule.is32BitLinux(e.value) {
                add(Finding(rule: .platform, service: service, key: name, kind: e.value, firstSeen: at,
                                              evidence: "telemetry \(name)=\(e.value)"))
            }
        }
        var seenIntegrations = Set<String>()
        for i in message.integrations where i.enabled {
            guard let removed = V4IntegrationRule.removedIntegration(telemetryName: i.name), seenIntegrations.insert(removed).inserted else { continue }
            add(Finding(rule: .integration, service: service, key: removed, kind: "telemetry", firstSeen: at,
                                          fix: V4IntegrationRule.fix(for: removed),
                                          evidence: "telemetry integration \(i.name) enabled" + (i.version.isEmpty ? "" : " (version \(i.version))")))
        }
        // Installed packages of removed integrations: medium evidence, unless the integration
        // itself was reported enabled in this message (then the high finding above says it).
        for d in message.dependencies {
            guard let removed = V4IntegrationRule.removedIntegration(package: d.name), !seenIntegrations.contains(removed) else { continue }
            seenIntegrations.insert(removed)
            add(Finding(rule: .integration, confidence: .medium, service: service, key: removed, kind: "package", firstSeen: at,
                        fix: V4IntegrationRule.fix(for: removed),
                        evidence: "telemetry app-dependencies-loaded: \(d.name)" + (d.version.isEmpty ? "" : " \(d.version)")))
        }
        if let openai = message.dependencies.first(where: { $0.name.lowercased() == "openai" }), !openai.version.isEmpty {
            pending.services[service, default: ServiceSummary()].openAIVersion = openai.version
        }
    }

    // MARK: - LLM Observability

    mutating func analyzeLLMObs(_ request: CapturedRequest, endpoint: String) {
        let at = ReportTime(request.receivedAt)
        seen(at)
        do {
            let object = try JSONSerialization.jsonObject(with: Data(request.body), options: [])
            for call in V4OpenAIStreamRule.streamedCalls(inLLMObsBody: object) {
                table.add(Finding(rule: .openAIStream, service: call.service, key: call.model.isEmpty ? nil : call.model,
                                              kind: "llmobs", firstSeen: at,
                                              evidence: "LLM Observability span with metadata.stream = true", app: call.service))
            }
        } catch {
            recordDecodeError(source: request.source, endpoint: endpoint,
                              reason: "invalid LLM Observability JSON (\(JSONField.describe(error)))",
                              offset: JSONSyntax.firstErrorOffset(request.body) ?? JSONField.errorOffset(error), at: at)
        }
    }
}
