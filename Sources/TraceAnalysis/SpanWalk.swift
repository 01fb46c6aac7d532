import CompatRules
import MessagePack
import TracePayload

/// The one walk of a span's `meta` and `metrics` maps, made while the decoder checks them
/// (`SpanEntryVisitor`): the facts the registered span rules read (`SpanReads`), the entries
/// they flag, the metrics they want, the app (`_dd.base_service`) and the canary profile's key
/// signatures. `AnalysisState.judge` reads what it gathered once the span is whole, then
/// `spanJudged` starts the next span.
///
/// Walking the maps a second time after the decoder had checked them read every string's header
/// twice; on a Django span (nine meta and four metrics entries) that second walk was a sixth of
/// the analysis (Benchmarks/RESULTS.md, "Django payloads at half the cost"). On v0.5 payloads a
/// key is one string-table index in every span, so what is worked out about a key (its hash, which
/// fact it is, whether a rule wants it as a metric) is kept per index for the payload
/// (`tableKeys`), bounded by `AnalysisLimits.tableKeysCached`, on payloads of at least
/// `AnalysisLimits.rememberedFromBytes` (on a small one, working a key out again per span costs
/// less than remembering it for the payload).
struct SpanWalk: SpanEntryVisitor {
    /// What the registered rules read on spans: a constant the compiler folds.
    @inline(__always) static var reads: SpanReads { Rules.spanReads }

    /// Whether the canary profile is built for the current payload (its key signatures summed),
    /// and whether v0.5 keys are worked out once per index (`tableKeys`) for it.
    var profiling = false
    var remembering = false

    // The current span (emptied by `spanJudged`).
    var baseService = ByteView.empty
    var component = ByteView.empty
    var errorType = ByteView.empty
    var errorMessage = ByteView.empty
    var model = ByteView.empty
    var metaKeys = CanaryAccumulator.KeySignature()
    var metricKeys = CanaryAccumulator.KeySignature()
    /// The meta entries rules flagged: this span's from `firstFlagged` on, after earlier spans'
    /// ones, which are cleared only past `AnalysisLimits.flaggedKept` (`removeAll` runs the
    /// generic `replaceSubrange`: once per few dozen flagged entries instead of once per span).
    var flagged: [SpanFacts.FlaggedMeta] = []
    var firstFlagged = 0
    /// The metrics entries a rule wants (`CompatRule.wantsMetric`), in payload order.
    var wantedMetrics: [WantedMetric] = []

    /// Per metrics key (`shortHash`): the rules that want it (`Rules.metricRules`) plus one, so
    /// 1 when none does.
    /// Made at the first metric: the analyzer takes its walk out for each payload in exchange
    /// for an empty one, which must cost no allocation.
    var metricVerdicts: HashIndex?

    /// v0.5: per string-table index, the key's facts for the payload numbered `generation`.
    var tableKeys: [TableKey] = []
    var generation: UInt32 = 0

    struct WantedMetric {
        var key: ByteView
        var number: SpanMetrics.Number
        /// The rules that want its key (`Rules.metricRules`), the only ones asked about it.
        var rules: UInt32
    }

    /// What a string is as a key: which fact (`Fact`), its `shortHash`, and which rules want it
    /// as a metrics key (0: not asked yet, else `Rules.metricRules` plus one).
    struct TableKey {
        var generation: UInt32 = 0
        var fact = Fact.none
        var metric: UInt64 = 0
        var hash: UInt64 = 0
    }

    /// The meta keys the walk picks out for `SpanFacts` (those the registered rules read).
    enum Fact: UInt8 {
        case none, baseService, component, errorType, errorMessage, requestModel, responseModel
    }

    /// A new payload (whether the canary profiles it, whether its v0.5 keys are remembered per
    /// index): anything left of a span that failed to decode is dropped, and the v0.5 keys of the
    /// payload before no longer count.
    mutating func beginPayload(profiling: Bool, remembering: Bool) {
        self.profiling = profiling
        self.remembering = remembering
        generation &+= 1
        if generation == 0 {
            for i in tableKeys.indices { tableKeys[i].generation = 0 }
            generation = 1
        }
        spanJudged()
    }

    /// Empties what the walk gathered for the span just judged.
    @inline(__always)
    mutating func spanJudged() {
        baseService = .empty
        component = .empty
        errorType = .empty
        errorMessage = .empty
        model = .empty
        metaKeys = CanaryAccumulator.KeySignature()
        metricKeys = CanaryAccumulator.KeySignature()
        while wantedMetrics.popLast() != nil {}
        if flagged.count >= AnalysisLimits.flaggedKept { flagged.removeAll(keepingCapacity: true) }
        firstFlagged = flagged.count
    }

    // MARK: - SpanEntryVisitor

    @inline(__always)
    mutating func meta(key: ByteView, value: ByteView) {
        if profiling { metaKeys.add(key) }
        take(Self.fact(key), key: key, value: value)
    }

    @inline(__always)
    mutating func metaIndexed(key: Int, value: Int, table: UnsafeBufferPointer<ByteView>) {
        guard remembering else { return meta(key: table[key], value: table[value]) }
        let k = tableKey(key, table)
        if profiling { metaKeys.add(hash: k.hash) }
        take(k.fact, key: table[key], value: table[value])
    }

    @inline(__always)
    mutating func metric(key: ByteView, number: SpanMetrics.Number) {
        let h = shortHash(key)
        if profiling { metricKeys.add(hash: h) }
        guard Self.reads.contains(.metrics) else { return }
        // Whether a rule wants the key, cached per key (`CompatRule.wantsMetric` depends on the
        // key alone, and the same few dozen keys repeat on every span).
        let verdict = metricVerdicts?[h] ?? metricVerdict(key, hash: h)
        if verdict > 1 { wantedMetrics.append(WantedMetric(key: key, number: number, rules: UInt32(truncatingIfNeeded: verdict - 1))) }
    }

    @inline(__always)
    mutating func metricIndexed(key: Int, number: SpanMetrics.Number, table: UnsafeBufferPointer<ByteView>) {
        guard remembering else { return metric(key: table[key], number: number) }
        let k = tableKey(key, table)
        if profiling { metricKeys.add(hash: k.hash) }
        guard Self.reads.contains(.metrics) else { return }
        let verdict = k.metric != 0 ? Int(k.metric) : tableMetricVerdict(key, table, hash: k.hash)
        if verdict > 1 { wantedMetrics.append(WantedMetric(key: table[key], number: number, rules: UInt32(truncatingIfNeeded: verdict - 1))) }
    }

    // MARK: - Facts

    /// Which fact meta key `k` is, among those the registered rules read. The component always:
    /// the canary profile's operations are named by it too.
    @inline(__always)
    static func fact(_ k: ByteView) -> Fact {
        let reads = Self.reads
        if k.count > 9 && k[0] == UInt8(ascii: "_") && k.equals("_dd.base_service") { return .baseService }
        switch k.count {
        case 9 where k.equals("component"): return .component
        case 10 where reads.contains(.errorType) && k.equals("error.type"): return .errorType
        case 13 where reads.contains(.errorMessage) && k.equals("error.message"): return .errorMessage
        case 20 where reads.contains(.openAIModel) && k.equals("openai.request.model"): return .requestModel
        case 21 where reads.contains(.openAIModel) && k.equals("openai.response.model"): return .responseModel
        default: return .none
        }
    }

    /// Keeps the value of a fact; other entries (and the OpenAI models) go to the rules reading
    /// every meta entry (`CompatRule.flagMeta`).
    @inline(__always)
    mutating func take(_ fact: Fact, key: ByteView, value: ByteView) {
        if fact != .none {
            switch fact {
            case .baseService: baseService = value; return
            case .component: component = value; return
            case .errorType: errorType = value; return
            case .errorMessage: errorMessage = value; return
            case .requestModel: model = value
            case .responseModel: if model.isEmpty { model = value }
            case .none: break
            }
        }
        if Self.reads.contains(.metaEntries) && Rules.mayFlagMeta(value: value) { flag(key: key, value: value) }
    }

    /// Asks the rules reading every meta entry about one (out of line: only for the few values
    /// that a rule's inline test lets through, `CompatRule.mayFlag`, so that the walk stays small).
    @inline(never)
    mutating func flag(key: ByteView, value: ByteView) {
        Rules.flagMeta(key: key, value: value, into: &flagged)
    }

    /// The facts of table string `i` for this payload: worked out once per payload and index.
    @inline(__always)
    mutating func tableKey(_ i: Int, _ table: UnsafeBufferPointer<ByteView>) -> TableKey {
        if i < tableKeys.count, tableKeys[i].generation == generation { return tableKeys[i] }
        return newTableKey(i, table)
    }

    /// `tableKey` of an index not seen in this payload (cold), kept below `AnalysisLimits.tableKeysCached`.
    @inline(never)
    mutating func newTableKey(_ i: Int, _ table: UnsafeBufferPointer<ByteView>) -> TableKey {
        let k = table[i]
        let key = TableKey(generation: generation, fact: Self.fact(k), metric: 0, hash: shortHash(k))
        if i < AnalysisLimits.tableKeysCached {
            if i >= tableKeys.count { tableKeys.append(contentsOf: repeatElement(TableKey(), count: i + 1 - tableKeys.count)) }
            tableKeys[i] = key
        }
        return key
    }

    /// Which rules want metrics key table string `i`, plus one (cold: once per payload and key).
    @inline(never)
    mutating func tableMetricVerdict(_ i: Int, _ table: UnsafeBufferPointer<ByteView>, hash: UInt64) -> Int {
        let verdict = metricVerdicts?[hash] ?? metricVerdict(table[i], hash: hash)
        if i < tableKeys.count, tableKeys[i].generation == generation { tableKeys[i].metric = UInt64(verdict) }
        return verdict
    }

    /// Which rules want metrics key `key` (hash `hash`), `Rules.metricRules` plus one, asked once
    /// per key and remembered in `metricVerdicts` (cold: the same few dozen keys repeat on every span).
    @inline(never)
    mutating func metricVerdict(_ key: ByteView, hash: UInt64) -> Int {
        let wanted = Int(Rules.metricRules(key: key)) + 1
        var verdicts = metricVerdicts ?? HashIndex(capacity: 256)
        metricVerdicts = nil  // one reference while it is changed
        if verdicts.count >= AnalysisLimits.metricVerdictsCached { verdicts.removeAll() }
        verdicts.set(hash, wanted)
        metricVerdicts = verdicts
        return wanted
    }
}
