import CompatReport
import CompatRules
import Foundation
import MessagePack
import TracePayload

/// What one `Analyzer` folds between two hand-overs, and the analysis itself, as a value: the
/// analyzer runs it under its lock as one mutating access per request, so the hot path pays no
/// runtime exclusivity check per field (it did as the class's own stored properties).
struct AnalysisState: FindingSink, MessageSink {
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

    /// Judges one request whose body is `body` (borrowed for the call).
    mutating func analyze(_ request: CapturedRequest, body: UnsafeRawBufferPointer) -> Analyzer.Outcome {
        lastError = nil
        defer { lastError = nil }
        dispatch(request, body: body)
        return Analyzer.Outcome(decodeError: lastError)
    }

    /// True when the hand-over interval has passed. A mutating method, not a computed property:
    /// the analyzer keeps the state in a class, and a getter called there copied the whole value.
    mutating func handOverIsDue() -> Bool { Self.monotonicNanoseconds() &- lastHandOver >= handOverInterval }

    /// Monotonic nanoseconds (`CLOCK_MONOTONIC`, read through the vDSO): the hand-over clock, read
    /// once per payload. `DispatchTime.now()` read the same clock through libdispatch's
    /// `dispatch_time`, one more library function on every payload's path.
    @inline(__always)
    static func monotonicNanoseconds() -> UInt64 {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return UInt64(t.tv_sec) &* 1_000_000_000 &+ UInt64(t.tv_nsec)
    }

    /// Everything folded since the last hand-over as one batch (nil when nothing), and a fresh start.
    mutating func takeBatch() -> Report? {
        lastHandOver = Self.monotonicNanoseconds()
        endAppRun()
        foldRequestTallies()
        foldEndpointTally()
        if tracePayloads.v04 > 0 { pending.traffic.tracePayloads[TraceFormat.v04.rawValue, default: 0] += tracePayloads.v04 }
        if tracePayloads.v05 > 0 { pending.traffic.tracePayloads[TraceFormat.v05.rawValue, default: 0] += tracePayloads.v05 }
        tracePayloads = (0, 0)
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
    var lastHandOver: UInt64 = AnalysisState.monotonicNanoseconds()
    /// Requests per (app, format, tracer and Python version) since the last fold.
    var requestTallies: [RequestTally] = []
    /// Requests to the endpoint that came last, not yet in `pending` (`countRequest`).
    var endpointTally = (endpoint: "", requests: 0)
    /// The last request's method and path, with its endpoint and class (`dispatch`; valid when
    /// `hasLastRequestTarget`). Compared in place: a copy of it retained its strings per payload.
    var lastRequestTarget = RequestTarget(method: "", path: "", endpoint: "", analysis: .countOnly)
    var hasLastRequestTarget = false
    /// The last trace request's header array and what `tracerHeaders()` read from it (`tracerHeaders(of:)`).
    var lastHeaders: [(name: String, value: String)] = []
    var lastTracerHeaders: (language: String?, tracerVersion: String?, langVersion: String?) = (nil, nil, nil)
    /// Trace payloads decoded per format since the last hand-over (folded in `takeBatch`).
    var tracePayloads = (v04: 0, v05: 0)
    /// The version headers last seen and what they mean (see `analyzeTraces`): the canary's
    /// major version and what the header rules recorded.
    var headerVerdicts = (findings: HeaderFindings(judging: MetaHeaders()), major: (name: String, hash: UInt64)?.none)
    /// What the registered rules read on spans (`Rules`): a constant the compiler folds (every
    /// rule's `spanReads` is inlinable), so a fact no rule reads costs no test in the walk.
    @inline(__always) static var spanReads: SpanReads { Rules.spanReads }
    /// The walk of the span's maps made while the decoder checks them (its storage kept from
    /// payload to payload), the span being judged (for the sink's records) and what rules noted
    /// in the current trace.
    var walk = SpanWalk()
    /// Hashes of the span's strings, remembered on v0.5 payloads (`SpanStringHashes`).
    var hashes = SpanStringHashes()
    var current = Current()
    var notes: [TraceNote] = []
    /// V4-CANARY-DIFF profiles, the current request's tracer major version (nil: not profiled)
    /// and a trace number unique across payloads.
    var canary = CanaryAccumulator()
    var canaryMajor: (name: String, hash: UInt64)?
    var traceSerial = 0

    struct App { var name: String; var hash: UInt64; var spans: Int; var inPayload: Bool }
    /// A request's method and path with its endpoint and class. A struct, not an optional
    /// tuple: that was copied and tested through the runtime's generic tuple witnesses.
    struct RequestTarget { var method: String; var path: String; var endpoint: String; var analysis: EndpointClass.Analysis }
    struct RequestTally { var app: String; var appHash: UInt64; var format: TraceFormat; var tracer: String; var python: String; var requests: Int }

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

    mutating func dispatch(_ request: CapturedRequest, body: UnsafeRawBufferPointer) {
        let endpoint: String, analysis: EndpointClass.Analysis
        // An app posts to the same path over and over: its endpoint and class are worked out
        // once per distinct (method, path) in a row, and counted in `endpointTally`.
        if hasLastRequestTarget && lastRequestTarget.method == request.method && lastRequestTarget.path == request.path {
            (endpoint, analysis) = (lastRequestTarget.endpoint, lastRequestTarget.analysis)
        } else {
            endpoint = ReportStore.normalise(request.path)
            analysis = EndpointClass(method: request.method, uri: request.path).analysis
            lastRequestTarget = RequestTarget(method: request.method, path: request.path, endpoint: endpoint, analysis: analysis)
            hasLastRequestTarget = true
        }
        countRequest(endpoint)
        switch analysis {
        case .tracePayload(let format): analyzeTraces(request, body: body, format: format, endpoint: endpoint)
        case .telemetry: analyzeTelemetry(request, body: Array(body), endpoint: endpoint)
        case .llmObs: analyzeLLMObs(request, body: Array(body), endpoint: endpoint)
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
        judgeAgent(AgentAnswer(version: version, source: .header), at: at)
    }

    /// Asks the rules about an agent version; findings go under the agent, with no app.
    mutating func judgeAgent(_ answer: AgentAnswer, at: ReportTime) {
        messageContext = MessageContext(service: "datadog-agent", app: nil, at: at)
        Rules.judgeAgent(answer, into: &self)
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
            judgeAgent(AgentAnswer(version: info.version, source: .info), at: at)
        } catch {
            recordDecodeError(source: source, endpoint: "/info (answer)", reason: error.reason, offset: error.offset, at: at)
        }
        return Analyzer.Outcome(decodeError: lastError)
    }

    /// Counts one request by endpoint (normalised path), within `ReportStore.endpointLimit`: in
    /// `endpointTally` while the endpoint repeats (no string hashed per request), folded into
    /// `pending` when another endpoint comes and at the hand-over, so endpoints reach the
    /// bounded dictionary in the order they came (which ones go to "other" is unchanged).
    mutating func countRequest(_ endpoint: String) {
        if endpointTally.requests > 0 && endpointTally.endpoint == endpoint {
            endpointTally.requests += 1
            return
        }
        foldEndpointTally()
        endpointTally = (endpoint, 1)
    }

    mutating func foldEndpointTally() {
        guard endpointTally.requests > 0 else { return }
        Self.bump(&pending.traffic.requestsByEndpoint, endpointTally.endpoint, limit: ReportStore.endpointLimit, by: endpointTally.requests)
        endpointTally.requests = 0
    }

    mutating func countAgentVersion(_ version: String) {
        Self.bump(&pending.traffic.agentVersions, version, limit: AnalysisLimits.languages)
    }

    /// `counts[name] += n`, or `counts["other"]` when `limit` names are there already.
    static func bump(_ counts: inout [String: Int], _ name: String, limit: Int, by n: Int = 1) {
        if let c = counts[name] { counts[name] = c + n; return }
        counts[counts.count < limit ? name : ReportLimits.other, default: 0] += n
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

    /// `request.tracerHeaders()`, read again only when the request's header array is not the
    /// last one's: the proxy hands an analysis thread the same array for as long as an app's
    /// tracer fields keep the same bytes (`TracerHeaderCache`), and a capture's requests share
    /// theirs, so the walk of the fields and the compares of their names run once per change.
    /// The last array is held, so its buffer cannot be freed and reused for other fields: the
    /// same address is the same, unchanged buffer (a shared array buffer is never written in place).
    @inline(__always)
    mutating func tracerHeaders(of request: CapturedRequest) -> (language: String?, tracerVersion: String?, langVersion: String?) {
        let same = request.headers.withUnsafeBufferPointer { now in
            lastHeaders.withUnsafeBufferPointer { now.baseAddress == $0.baseAddress && now.count == $0.count }
        }
        if same { return lastTracerHeaders }
        lastHeaders = request.headers
        lastTracerHeaders = request.tracerHeaders()
        return lastTracerHeaders
    }

    mutating func analyzeTraces(_ request: CapturedRequest, body: UnsafeRawBufferPointer, format: TraceFormat, endpoint: String) {
        let at = ReportTime(request.receivedAt)
        let sent = tracerHeaders(of: request)
        // Compared without lowercasing: `lowercased()` goes through Unicode case mapping, a
        // measurable share of a small payload's analysis; HTTP gives "python" in ASCII.
        if let value = sent.language, !CapturedRequest.equalsIgnoringCase(value, lowercased: "python") {
            countOtherLanguage(value, at: at)
            return
        }
        // Emptied one element at a time (a payload has one app or a few, and notes are emptied
        // at each trace's end): `removeAll(keepingCapacity:)` runs the generic
        // `replaceSubrange`, or allocates when the array is the shared empty one.
        while payloadApps.popLast() != nil {}
        while notes.popLast() != nil {}

        var currentTrace = -1
        let tracer = sent.tracerVersion ?? ""
        let python = sent.langVersion ?? ""
        // What the version headers mean, worked out once per distinct pair (they repeat on every
        // payload of an app): the canary's major version and the header rules' findings.
        let headers = MetaHeaders(tracerVersion: tracer, langVersion: python)
        if headers != headerVerdicts.findings.headers { judgeHeaders(headers) }
        canaryMajor = headerVerdicts.major
        // The spans' own time window: what the report's started_at / updated_at and the header
        // findings use, so that an audit of old captures shows when the traffic happened, not
        // when the files were copied (receivedAt is then a file time).
        var earliest = Int64.max, latest: Int64 = 0
        let summary: PayloadSummary
        // The decoder is taken out while it visits (its closure works on the rest of this state).
        var decoder = TracePayloadDecoder(), walk = SpanWalk()
        swap(&decoder, &self.decoder)
        swap(&walk, &self.walk)
        defer { swap(&decoder, &self.decoder); swap(&walk, &self.walk) }
        let remembering = format == .v05 && body.count >= AnalysisLimits.rememberedFromBytes
        walk.beginPayload(profiling: canaryMajor != nil, remembering: remembering)
        endAppRun()
        hashes.begin(addresses: remembering)
        do {
            summary = try decoder.visit(body, format: format, entries: &walk) { span, walk in
                    if span.traceIndex != currentTrace {
                        traceEnded()
                        currentTrace = span.traceIndex
                        traceSerial &+= 1
                    }
                    if span.start > 0 {
                        earliest = min(earliest, span.start)
                        latest = max(latest, span.start)
                    }
                    judge(span, walk: &walk, fallback: at)
            }
            traceEnded()
            endAppRun()
        } catch {
            endAppRun()
            traceDecodeFailed(error, request, format: format, endpoint: endpoint, at: at)
            return
        }

        switch format {
        case .v04: tracePayloads.v04 += 1
        case .v05: tracePayloads.v05 += 1
        }
        pending.traffic.traces += summary.traces
        pending.traffic.spans += summary.spans
        var first = at, last = at
        if latest > 0 {
            first = ReportTime(nanoseconds: earliest)
            last = ReportTime(nanoseconds: latest)
        }
        seen(first, last)

        // What the header rules recorded for these headers (usually nothing), once per app.
        let headerFindings = headerVerdicts.findings.records
        for slot in payloadApps {
            apps[slot].inPayload = false
            let app = apps[slot]
            // Per request and app: which API, tracer and Python it used (tallied, folded into
            // the services at the hand-over).
            tallyRequest(app: app, format: format, tracer: tracer, python: python)
            for r in headerFindings {
                table.hit(FindingTable.Key(rule: r.rule.code, kind: 0, app: app.hash, service: app.hash, operation: 0, resource: 0, key: r.keyHash),
                          first: first, last: last,
                          make: { Self.finding(r.rule, r.texts, service: app.name, app: app.name, first: first, last: last) },
                          sample: { nil })
            }
        }
    }

    // The cold steps of `analyzeTraces`, out of line so that its per-payload path stays small in
    // the instruction cache (Benchmarks/RESULTS.md "Instruction cache").

    /// A trace request from another language: counted by name, not judged.
    @inline(never)
    mutating func countOtherLanguage(_ value: String, at: ReportTime) {
        seen(at)
        Self.bump(&pending.traffic.otherLanguages, value.lowercased(), limit: AnalysisLimits.languages)
    }

    /// Version headers other than the last payload's: the canary's major version and what the
    /// header rules record for them, worked out again.
    @inline(never)
    mutating func judgeHeaders(_ headers: MetaHeaders) {
        headerVerdicts = (HeaderFindings(judging: headers), V4CanaryDiffRule.major(ofTracerVersion: headers.tracerVersion).map { ($0, byteHash($0)) })
    }

    /// A payload that could not be decoded: the spans judged before the error stay counted in
    /// their findings; the payload is a decode error (with the reason and offset).
    @inline(never)
    mutating func traceDecodeFailed(_ error: any Error, _ request: CapturedRequest, format: TraceFormat, endpoint: String, at: ReportTime) {
        for slot in payloadApps { apps[slot].inPayload = false }
        seen(at)
        if let error = error as? MessagePackError {
            let reason = "\(format.rawValue) trace payload: " + Analyzer.reasonText(error)
            recordDecodeError(source: request.source, endpoint: endpoint, reason: reason, offset: error.offset, at: at)
        } else {
            recordDecodeError(source: request.source, endpoint: endpoint, reason: "\(error)", offset: 0, at: at)
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
        return newAppSlot(name, hash: hash)
    }

    /// `appSlot` for an app not seen since the last hand-over (cold: out of the span's path).
    @inline(never)
    mutating func newAppSlot(_ name: ByteView, hash: UInt64) -> Int {
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


    /// Judges one span: its maps were walked while the decoder checked them (`SpanWalk`: the
    /// facts the registered span rules read, their flagged entries and wanted metrics, the app,
    /// the canary's key sets), its `meta_struct` is walked here when a rule reads it; then every
    /// rule of `Rules` is asked (`CompatRule`'s span hooks).
    @inline(__always)
    mutating func judge(_ span: borrowing SpanView, walk: inout SpanWalk, fallback: ReportTime) {
        let service = span.service
        let appName = walk.baseService.isEmpty ? service : walk.baseService
        // The previous span's app, when this one's name has the same bytes (a payload has one app
        // or a few, its spans in runs): no hash of the name, no lookup and no write to `apps`
        // per span (the run's spans are added to the app's when the run ends, `endAppRun`).
        if lastApp.slot < 0 || !appName.equals(lastApp.name) { startAppRun(appName) }
        lastApp.spans &+= 1
        let slot = lastApp.slot
        // The app's slot, not a copy of it: copying `App` retains its name on every span.
        current = Current(app: slot, service: service, time: span.start > 0 ? ReportTime(nanoseconds: span.start) : fallback,
                          traceID: span.traceID, spanID: span.spanID,
                          serviceHash: walk.baseService.isEmpty ? lastApp.hash : nil)
        var f = SpanFacts(span)
        f.component = walk.component
        f.errorType = walk.errorType
        f.errorMessage = walk.errorMessage
        f.model = walk.model
        let maps = (meta: span.meta, metrics: span.metrics, metaStruct: span.metaStruct)
        let keys = (meta: walk.metaKeys, metrics: walk.metricKeys), first = walk.firstFlagged
        // The flagged entries and wanted metrics are taken out of the walk for the span (a move,
        // not a copy: no reference count) and put back after it.
        var flagged: [SpanFacts.FlaggedMeta] = [], wanted: [SpanWalk.WantedMetric] = []
        swap(&flagged, &walk.flagged)
        swap(&wanted, &walk.wantedMetrics)
        flagged.withUnsafeBufferPointer {
            f.flagged = UnsafeBufferPointer(rebasing: $0[first...])
            judge(f, maps, app: slot, keys: keys, wanted: wanted)
        }
        swap(&flagged, &walk.flagged)
        swap(&wanted, &walk.wantedMetrics)
        walk.spanJudged()
    }

    /// The rest of `judge`, with the span's facts (their flagged entries valid here).
    @inline(__always)
    mutating func judge(_ f: SpanFacts, _ span: (meta: SpanTags, metrics: SpanMetrics, metaStruct: SpanMetaStruct), app: Int,
                        keys: (meta: CanaryAccumulator.KeySignature, metrics: CanaryAccumulator.KeySignature),
                        wanted: [SpanWalk.WantedMetric]) {
        let reads = Self.spanReads
        if reads.contains(.metrics), !wanted.isEmpty {
            for m in wanted { Rules.judgeMetric(key: m.key, number: m.number, span: f, rules: m.rules, into: &self) }
        }
        if let majorHash = canaryMajor?.hash {
            // The names are read (retained) only for a profile that is not the previous span's.
            let ph = CanaryAccumulator.profileHash(appHash: apps[app].hash, majorHash: majorHash)
            let p = canary.currentProfile(ph) ?? canary.profileSlot(ph, app: apps[app].name, major: canaryMajor!.name)
            canary.add(f, meta: span.meta, metrics: span.metrics, profile: p, hash: ph, trace: traceSerial,
                       metaKeys: keys.meta, metricKeys: keys.metrics, strings: &strings)
        }
        if reads.contains(.metaStruct), !span.metaStruct.isEmpty {
            span.metaStruct.forEach { k, encoded in Rules.judgeStructTag(key: k, encoded: encoded, span: f, into: &self) }
        }
        Rules.judge(f, into: &self)
    }

    /// The end of a trace: the rules that relate its spans are asked, then its notes are dropped.
    mutating func traceEnded() {
        if !notes.isEmpty {
            Rules.traceEnded(into: &self)
            // One at a time (a trace notes a few spans): `removeAll(keepingCapacity:)` runs the
            // generic `replaceSubrange`, once per trace with a note.
            while notes.popLast() != nil {}
        }
    }

    // MARK: - FindingSink: what span rules record, for the current span

    /// The span being judged, as the sink's records need it.
    struct Current {
        /// The app's slot in `apps` (its name is read only for a new finding group).
        var app = 0
        var service = ByteView.empty
        var time = ReportTime(milliseconds: 0)
        var traceID: UInt64 = 0
        var spanID: UInt64 = 0
        /// `byteHash(service)` when the service is the app's name (no `_dd.base_service`): the
        /// app's hash, worked out already; nil when `record` must hash the service.
        var serviceHash: UInt64?
    }

    /// The last span's app name (a view into the current payload), its hash and slot, and the
    /// spans of the current run of spans of that app not yet added to `apps`; slot -1 when none
    /// (at each payload's start: views into the previous body are no longer valid).
    var lastApp = (name: ByteView.empty, hash: UInt64(0), slot: -1, spans: 0)

    /// A span of another app than the previous span's (cold): the run before it ends, the app's
    /// slot is looked up (and counted in the payload's apps when it is its first span there).
    @inline(never)
    mutating func startAppRun(_ appName: ByteView) {
        endAppRun()
        let h = hashes.hash(appName)
        let slot = appSlot(appName, hash: h)
        if !apps[slot].inPayload {
            apps[slot].inPayload = true
            payloadApps.append(slot)
        }
        lastApp = (appName, h, slot, 0)
    }

    /// Adds the current run's spans to its app (when a run ends, at the payload's end, decoded or
    /// not, and before a hand-over), and starts none.
    mutating func endAppRun() {
        if lastApp.slot >= 0 && lastApp.spans > 0 { apps[lastApp.slot].spans += lastApp.spans }
        lastApp.slot = -1
        lastApp.spans = 0
    }

    var traceNotes: [TraceNote] { notes }

    mutating func note(_ note: TraceNote) { notes.append(note) }

    mutating func addTwin(toGroup slot: Int) {
        table.findings[slot].twinSeen = (table.findings[slot].twinSeen ?? 0) + 1
    }

    /// The finding a rule's texts describe, on span `c`.
    static func finding(_ rule: RuleID, _ s: FindingStrings, _ t: FindingTexts, _ c: Current, app: String) -> Finding {
        Finding(rule: rule, severity: t.severity, confidence: t.confidence, service: s.service, operation: s.operation,
                resource: s.resource, key: t.key ?? (s.key.isEmpty ? nil : s.key), kind: t.kind, firstSeen: c.time,
                fix: t.fix, evidence: t.evidence, app: app, twinSeen: t.twinSeen)
    }

    /// A sample of span `c` (no excerpt when the report is redacted).
    static func sample(_ t: SampleTexts, _ c: Current, redact: Bool) -> Sample {
        Sample(traceID: String(c.traceID), spanID: String(c.spanID), valueType: t.valueType,
               excerpt: redact ? nil : t.excerpt.map(Sample.excerpt(of:)), operation: t.operation)
    }

    mutating func recordInternal(_ rule: RuleID, kind: UInt8, operation: ByteView, key: ByteView,
                                 texts: (FindingStrings) -> FindingTexts, sample: () -> SampleTexts) {
        let c = current, redact = store.redact, app = apps[c.app]
        let k = FindingTable.Key(rule: rule.code, kind: kind, app: app.hash, service: byteHash(c.service), operation: byteHash(operation),
                                 resource: 0, key: byteHash(key))
        _ = internalTable.hit(k, at: c.time, make: {
            let s = FindingStrings(service: c.service.string, operation: operation.string, resource: "", key: key.string)
            return Self.finding(rule, s, texts(s), c, app: app.name)
        }, sample: { Self.sample(sample(), c, redact: redact) })
    }

    /// Records one occurrence in the thread's table; the resource is normalised first
    /// (`ResourceShape`), and strings are copied only for a new group.
    ///
    /// One copy, out of line: every rule that records calls it, and inlined into each rule's hook
    /// it was one more copy of its ~2.5 KB on the per-span path, more code than the L1
    /// instruction cache holds (Benchmarks/RESULTS.md "Instruction cache"). A repeated finding
    /// stays in this function (hashes, a lookup, a count); a new group and a resource not seen
    /// before go to the cold steps below.
    @inline(never)
    @discardableResult
    mutating func record(_ rule: RuleID, kind: UInt8, operation: ByteView, resource: ByteView, key: ByteView,
                         texts: (FindingStrings) -> FindingTexts, sample: () -> SampleTexts) -> Int {
        let c = current, redact = store.redact
        let rh = resource.isEmpty ? 0 : shapeHash(resource)
        let k = FindingTable.Key(rule: rule.code, kind: kind, app: apps[c.app].hash, service: c.serviceHash ?? hashes.hash(c.service),
                                 operation: hashes.hash(operation), resource: rh, key: hashes.hash(key))
        if let slot = table.count(k, first: c.time, last: c.time, sample: { Self.sample(sample(), c, redact: redact) }) { return slot }
        return recordNewGroup(rule, k, operation: operation, resource: resource, key: key, texts: texts, sample: sample)
    }

    /// The hash of `resource` once normalised, remembered per raw resource (the same queries repeat).
    @inline(__always)
    mutating func shapeHash(_ resource: ByteView) -> UInt64 {
        let raw = hashes.hash(resource)
        if let known = shapes[raw] { return UInt64(bitPattern: Int64(known)) }
        return shapeHashNew(resource, raw: raw)
    }

    /// `shapeHash` of a resource not remembered: normalised and hashed (cold).
    @inline(never)
    mutating func shapeHashNew(_ resource: ByteView, raw: UInt64) -> UInt64 {
        shape.normalise(resource)
        let rh = shape.bytes.withUnsafeBytes { byteHash(ByteView($0)) }
        if shapes.count >= AnalysisLimits.shapesCached { shapes.removeAll() }
        shapes.set(raw, Int(Int64(bitPattern: rh)))
        return rh
    }

    /// A new group for key `k` (cold): its strings copied, the rule's texts asked, the finding
    /// inserted (or counted in its scope's "other" group beyond the bounds).
    @inline(never)
    mutating func recordNewGroup(_ rule: RuleID, _ k: FindingTable.Key, operation: ByteView, resource: ByteView, key: ByteView,
                                 texts: (FindingStrings) -> FindingTexts, sample: () -> SampleTexts) -> Int {
        let c = current, redact = store.redact
        if !resource.isEmpty { shape.normalise(resource) }
        let strings = FindingStrings(service: self.strings.string(c.service, hash: k.service), operation: self.strings.string(operation, hash: k.operation),
                                     resource: resource.isEmpty ? "" : String(decoding: shape.bytes, as: UTF8.self), key: key.string)
        let finding = Self.finding(rule, strings, texts(strings), c, app: apps[c.app].name)
        return table.insert(k, first: c.time, last: c.time, finding: finding, sample: table.sampleLimit > 0 ? Self.sample(sample(), c, redact: redact) : nil)
    }


    // MARK: - MessageSink: what rules record about a message as a whole

    /// The message the message hooks judge: its service, app (nil: none, the agent's answers)
    /// and time.
    struct MessageContext {
        var service = ""
        var app: String?
        var at = ReportTime(milliseconds: 0)
    }

    var messageContext = MessageContext()

    mutating func recordMessage(_ rule: RuleID, service: String?, texts: FindingTexts) {
        let m = messageContext
        table.add(Self.finding(rule, texts, service: service ?? m.service, app: service ?? m.app, first: m.at, last: m.at))
    }

    /// The finding a message rule's texts describe.
    static func finding(_ rule: RuleID, _ t: FindingTexts, service: String, app: String?, first: ReportTime, last: ReportTime) -> Finding {
        Finding(rule: rule, severity: t.severity, confidence: t.confidence, service: service, key: t.key, kind: t.kind,
                firstSeen: first, lastSeen: last, fix: t.fix, evidence: t.evidence, app: app)
    }

    // MARK: - Telemetry

    mutating func analyzeTelemetry(_ request: CapturedRequest, body: [UInt8], endpoint: String) {
        var at = ReportTime(request.receivedAt)
        let message: TelemetryMessage
        do {
            message = try TelemetryMessage.parse(body)
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
        // Its findings belong to the app that sent it.
        messageContext = MessageContext(service: service, app: service, at: at)
        Rules.judgeTelemetry(message, into: &self)
        if let openai = message.dependencies.first(where: { $0.name.lowercased() == "openai" }), !openai.version.isEmpty {
            pending.services[service, default: ServiceSummary()].openAIVersion = openai.version
        }
    }

    // MARK: - LLM Observability

    mutating func analyzeLLMObs(_ request: CapturedRequest, body: [UInt8], endpoint: String) {
        let at = ReportTime(request.receivedAt)
        seen(at)
        do {
            let object = try JSONSerialization.jsonObject(with: Data(body), options: [])
            messageContext = MessageContext(service: "", app: nil, at: at)
            Rules.judgeLLMObs(object, into: &self)
        } catch {
            recordDecodeError(source: request.source, endpoint: endpoint,
                              reason: "invalid LLM Observability JSON (\(JSONField.describe(error)))",
                              offset: JSONSyntax.firstErrorOffset(body) ?? JSONField.errorOffset(error), at: at)
        }
    }
}
