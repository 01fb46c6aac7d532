import CompatRules

extension Report {
    /// The exact merge of two reports: counts add, first/last seen take min/max, samples fill up to
    /// the larger sample limit, decode-error samples keep the earliest. The result is finalized.
    public func merged(with other: Report) -> Report {
        var out = self
        out.absorb(other)
        return out.finalized()
    }

    /// Adds `other` into this report (not finalized: call `finalized()` before showing it).
    public mutating func absorb(_ other: Report) {
        options.sampleLimit = max(options.sampleLimit, other.options.sampleLimit)
        options.redacted = options.redacted || other.options.redacted
        startedAt = [startedAt, other.startedAt].compactMap { $0 }.min()
        updatedAt = [updatedAt, other.updatedAt].compactMap { $0 }.max()
        traffic.absorb(other.traffic)
        for (name, s) in other.services { services[name, default: ServiceSummary()].merge(s) }
        Self.absorb(&findings, other.findings, sampleLimit: options.sampleLimit)
        Self.absorb(&internalStructTags, other.internalStructTags, sampleLimit: options.sampleLimit)
    }

    /// Adds findings exactly, within the default group bounds (`ReportLimits`), as the live store does.
    static func absorb(_ into: inout [Finding], _ more: [Finding], sampleLimit: Int) {
        guard !more.isEmpty else { return }
        var groups = FindingGroups(limits: .default, sampleLimit: sampleLimit, findings: into)
        for f in more { groups.add(f) }
        into = groups.findings
    }

    /// Recomputes everything derived: order, shares, struct-tag visibility, the checklist.
    public func finalized() -> Report {
        var r = self
        for (name, var s) in r.services {
            let v04 = s.apiVersions["v0.4", default: 0] > 0
            s.structTagsVisible = v04
            if v04 {
                s.structTagsNote = nil
            } else if s.apiVersions.isEmpty {
                s.structTagsNote = "No trace payload seen for this service: struct tags unknown."
            } else {
                s.structTagsNote = V4StructTagRule.visibilityAdvice
            }
            r.services[name] = s
        }
        for i in r.findings.indices where r.findings[i].rule == .openAIStream {
            // Spec revision: ddtrace sets include_usage itself for openai >= 1.26 (low), not below or unknown (medium).
            r.findings[i].confidence = V4OpenAIStreamRule.confidence(openAIVersion: r.findings[i].app.flatMap { r.services[$0]?.openAIVersion })
        }
        for i in r.findings.indices {
            if let app = r.findings[i].app, let total = r.services[app]?.spans, total > 0 {
                r.findings[i].share = (Double(r.findings[i].count) / Double(total) * 10_000).rounded() / 10_000
            } else {
                r.findings[i].share = nil
            }
        }
        r.findings.sort(by: Self.order)
        r.internalStructTags.sort(by: Self.order)
        r.checklist = Self.checklist(for: r)
        return r
    }

    static func order(_ a: Finding, _ b: Finding) -> Bool {
        if a.severity != b.severity { return a.severity > b.severity }
        if a.rule != b.rule { return a.rule < b.rule }
        if a.service != b.service { return a.service < b.service }
        if a.operation != b.operation { return a.operation < b.operation }
        if a.resource != b.resource { return a.resource < b.resource }
        if (a.key ?? "") != (b.key ?? "") { return (a.key ?? "") < (b.key ?? "") }
        return (a.kind ?? "") < (b.kind ?? "")
    }

    /// Why none of `reads` could be seen in this traffic, or nil when one of them was.
    static func unobservable(_ reads: Set<WireSource>, in r: Report) -> String? {
        let t = r.traffic
        let sawSpans = t.spans > 0
        let sawTelemetry = t.telemetryMessages > 0
        let sawPython = sawSpans || sawTelemetry || t.tracePayloadCount > 0
        var seen = false
        for source in reads {
            switch source {
            case .spans: seen = seen || sawSpans
            case .structTags: seen = seen || (sawSpans && !r.services.contains { !$0.value.structTagsVisible && !$0.value.apiVersions.isEmpty })
            case .telemetry: seen = seen || sawTelemetry
            case .requestHeaders: seen = seen || sawPython
            case .agentAnswers: seen = seen || !t.agentVersions.isEmpty
            case .llmObs: seen = seen || (t.requestsByEndpoint[V4OpenAIStreamRule.llmobsPath] ?? 0) > 0
            }
        }
        if seen { return nil }
        if reads == [.structTags] {
            let hidden = r.services.filter { !$0.value.structTagsVisible && !$0.value.apiVersions.isEmpty }.keys.sorted()
            return sawSpans ? "Only v0.5 traffic for \(hidden.joined(separator: ", ")). " + V4StructTagRule.visibilityAdvice : "No Python spans were seen."
        }
        if reads == [.spans] { return "No Python spans were seen." }
        if reads == [.telemetry] { return "No telemetry was seen (it is on by default; DD_INSTRUMENTATION_TELEMETRY_ENABLED=false turns it off)." }
        if reads == [.agentAnswers] {
            return "No answer of the agent was seen (GET /info or its Datadog-Agent-Version header): the proxy reads them live; for an offline audit pass --agent-info FILE or put NNN-GET-info.response.json beside the capture."
        }
        if reads.contains(.requestHeaders) { return "No Python traffic was seen." }
        return "Neither telemetry nor spans were seen."
    }

    /// Every rule of the guide plus the check-in-code items, with what this traffic says about each.
    static func checklist(for r: Report) -> [ChecklistItem] {
        var counts: [RuleID: Int] = [:]
        for f in r.findings { counts[f.rule, default: 0] += f.count }
        let t = r.traffic
        var items: [ChecklistItem] = []
        for id in RuleID.allCases {
            let rule = id.rule
            let n = counts[id] ?? 0
            var status: ChecklistItem.Status = n > 0 ? .found : .notSeen
            var advice = n > 0 ? rule.fix : "Not seen in \(t.spans) span(s) and \(t.telemetryMessages) telemetry message(s)."
            if n == 0, rule.reads == [.agentAnswers], !t.agentVersions.isEmpty {
                // The agent's version was seen and is fine: say which, not "not seen".
                advice = "Agent version seen: " + t.agentVersions.keys.sorted().joined(separator: ", ") + " (nothing to change)."
            }
            if n == 0 {
                let unobservable = Self.unobservable(rule.reads, in: r)
                if let u = unobservable { status = .notObservable; advice = u }
            }
            items.append(ChecklistItem(id: id.rawValue, title: rule.title, visibility: .wire, severity: rule.severity,
                                       status: status, findings: n, advice: advice))
        }
        for c in CodeChecklist.items {
            items.append(ChecklistItem(id: c.id, title: c.title, visibility: .code, severity: nil, status: .checkInCode, findings: 0, advice: c.advice))
        }
        return items
    }
}

extension Traffic {
    mutating func absorb(_ o: Traffic) {
        requestsByEndpoint.add(o.requestsByEndpoint)
        tracePayloads.add(o.tracePayloads)
        traces += o.traces
        spans += o.spans
        otherLanguages.add(o.otherLanguages)
        telemetryMessages += o.telemetryMessages
        agentVersions.add(o.agentVersions)
        decodeErrors.count += o.decodeErrors.count
        decodeErrors.byEndpoint.add(o.decodeErrors.byEndpoint)
        if !o.decodeErrors.samples.isEmpty {
            // The earliest errors, whatever the order of merging.
            var all = decodeErrors.samples
            for e in o.decodeErrors.samples where !all.contains(e) { all.append(e) }
            all.sort { ($0.at, $0.source, $0.offset) < ($1.at, $1.source, $1.offset) }
            decodeErrors.samples = Array(all.prefix(DecodeErrors.sampleLimit))
        }
        notAnalysed.add(o.notAnalysed)
        for (endpoint, reason) in o.notAnalysedReasons ?? [:] where (notAnalysedReasons?.count ?? 0) < ReportStore.endpointLimit || notAnalysedReasons?[endpoint] != nil {
            notAnalysedReasons = notAnalysedReasons ?? [:]
            notAnalysedReasons![endpoint] = reason
        }
        for (kind, byEndpoint) in o.proxyErrors { proxyErrors[kind, default: [:]].add(byEndpoint) }
    }
}
