import CompatRules
import Foundation
import Testing
@testable import CompatReport

/// One vocabulary (findings = groups, occurrences = spans or requests), the verdict by application
/// and rule, and the fix once per rule, in the CLI summary, the Markdown and the HTML.
@Suite struct ReportRenderingTests {
    /// "shop": one struct-tag finding on 2 spans, Django spans of three kinds (69 in all, 3
    /// findings), two different SQL statements that cut to the same 60 characters.
    static let sqlPrefix = "SELECT shop_order.id, shop_order.customer_id, shop_order.total FROM shop_order WHERE "
    static func shop() -> Report {
        var r = Report()
        func f(_ rule: RuleID, op: String, resource: String = "", key: String? = nil, kind: String? = nil, count: Int, twin: Int? = nil, fix: String? = nil) -> Finding {
            var x = Finding(rule: rule, service: rule == .djangoMinimal ? "defaultdb" : "shop", operation: op, resource: resource, key: key, kind: kind,
                            count: count, firstSeen: ReportTime(milliseconds: 1000), lastSeen: ReportTime(milliseconds: 2000),
                            samples: [Sample(traceID: "11", spanID: "12", valueType: "dict", excerpt: "{'a': 1}")], fix: fix, app: "shop", twinSeen: twin)
            if rule == .djangoMinimal, let kind { x.fix = V4DjangoMinimalRule.fix(for: V4DjangoMinimalRule.Kind(rawValue: kind)!) }
            return x
        }
        r.findings = [
            f(.structTag, op: "checkout", key: "cart", kind: "user", count: 2),
            f(.djangoMinimal, op: "django.db", resource: sqlPrefix + "id = %s", kind: "database", count: 40, twin: 40),
            f(.djangoMinimal, op: "django.db", resource: sqlPrefix + "customer_id = %s", kind: "database", count: 20, twin: 20),
            f(.djangoMinimal, op: "django.cache", kind: "cache", count: 9),
        ]
        var cfg = Finding(rule: .config, service: "shop", key: "DD_TRACE_SAMPLE_RATE", count: 3, firstSeen: ReportTime(milliseconds: 1000),
                          fix: "Rename DD_OLD to DD_NEW: v4 no longer reads the old name.", app: "shop")
        cfg.samples = []
        r.findings.append(cfg)
        r.traffic.spans = 100
        r.traffic.requestsByEndpoint = ["/v0.4/traces": 8, "/telemetry/proxy/api/v2/apmtelemetry": 3]
        r.traffic.tracePayloads = ["v0.4": 8]
        r.traffic.telemetryMessages = 3
        var shop = ServiceSummary()
        shop.spans = 100
        shop.apiVersions = ["v0.4": 8]
        shop.tracerVersions = ["3.19.9": 8]
        shop.configuredAPIVersion = "v0.4"
        r.services["shop"] = shop
        var other = ServiceSummary()
        other.spans = 5
        other.apiVersions = ["v0.5": 1]
        r.services["worker"] = other
        r.startedAt = ReportTime(milliseconds: 500)
        r.updatedAt = ReportTime(milliseconds: 9000)
        return r.finalized()
    }

    static func count(_ needle: String, in text: String) -> Int { text.components(separatedBy: needle).count - 1 }

    @Test func verdictIsByApplicationAndRule() {
        let v = Verdict(Self.shop())
        #expect(v.headline == "breaks: 1 rule, changes: 2 rules, in 1 application")
        #expect(v.apps.map(Verdict.line) == [
            "shop: breaks V4-STRUCT-TAG (1 finding, 2 spans); changes V4-DJANGO-MINIMAL (one fix for 3 findings, 69 spans), V4-CONFIG (1 finding, 3 requests)",
        ])
    }

    @Test func occurrencesCountSpansOrRequests() {
        #expect(OccurrenceUnit(rule: .structTag, findings: []) == .spans)
        #expect(OccurrenceUnit(rule: .config, findings: []) == .requests)
        #expect(OccurrenceUnit(rule: .agent, findings: []) == .requests)
        let span = finding(.integration, op: "flask.request", key: "flask", kind: nil)
        let telemetry = finding(.integration, op: "", key: "flask", kind: nil)
        #expect(OccurrenceUnit(rule: .integration, findings: [span]) == .spans)
        #expect(OccurrenceUnit(rule: .integration, findings: [telemetry]) == .requests)
        #expect(OccurrenceUnit(rule: .integration, findings: [span, telemetry]) == .occurrences)
        #expect(OccurrenceUnit.spans.text(1) == "1 span" && OccurrenceUnit.requests.text(3) == "3 requests")
    }

    @Test func summaryCountsFindingsAndOccurrencesAndGivesTheVerdict() {
        let s = ReportRenderer.summary(Self.shop())
        let lines = s.split(separator: "\n").map(String.init)
        #expect(lines.contains("SEVERITY  RULE               FINDINGS  OCCURRENCES  DETAIL"))
        #expect(lines.contains("changes   V4-DJANGO-MINIMAL         3     69 spans  database 60, cache 9, template 0"))
        #expect(lines.contains("changes   V4-CONFIG                 1   3 requests  DD_TRACE_SAMPLE_RATE"))
        #expect(lines.contains("Verdict: breaks: 1 rule, changes: 2 rules, in 1 application."))
        #expect(lines.contains("  shop: breaks V4-STRUCT-TAG (1 finding, 2 spans); changes V4-DJANGO-MINIMAL (one fix for 3 findings, 69 spans), V4-CONFIG (1 finding, 3 requests)"))
    }

    @Test func htmlGroupsRowsByRuleWithTheFixOnce() {
        let r = Self.shop()
        let html = ReportRenderer.html(r)
        #expect(Self.count("<tr class=\"finding\"", in: html) == r.findings.count)
        #expect(Self.count("<article class=\"card rule", in: html) == 3)
        #expect(Self.count("<div class=\"fix\"", in: html) == 3)
        for rule in [RuleID.structTag, .djangoMinimal, .config] {
            #expect(Self.count(RuleText.html(rule.rule.fix), in: html) == 1, "\(rule.rawValue)'s fix once")
            let section = html.components(separatedBy: "id=\"rule-\(rule.rawValue)\"")[1].components(separatedBy: "</article>")[0]
            #expect(Self.count("<tr class=\"finding\" data-rule=\"\(rule.rawValue)\"", in: section) == r.findings.filter { $0.rule == rule }.count)
        }
        // V4-CONFIG's own fix per setting is listed once, inside the rule's fix.
        #expect(Self.count("Rename <code>DD_OLD</code> to <code>DD_NEW</code>", in: html) == 1)
    }

    @Test func htmlShowsWholeValuesThatCutToTheSameText() {
        let html = ReportRenderer.html(Self.shop())
        let cut = HTMLReport.esc(Wording.oneLine(Self.sqlPrefix + "id = %s", limit: 60))
        #expect(cut == HTMLReport.esc(Wording.oneLine(Self.sqlPrefix + "customer_id = %s", limit: 60)), "the fixture cuts both to one text")
        #expect(Self.count("<summary title=\"\(HTMLReport.esc(Self.sqlPrefix))id = %s\"><code>\(cut)</code></summary>", in: html) == 1)
        #expect(Self.count("<code class=\"full\">\(HTMLReport.esc(Self.sqlPrefix))customer_id = %s</code>", in: html) == 1)
    }

    @Test func htmlIsOnePageForAnyScreenWithoutRequests() {
        let html = ReportRenderer.html(Self.shop())
        #expect(html.contains("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"))
        #expect(html.contains("<link rel=\"icon\" href=\"data:image/svg+xml,"), "an inline icon: no /favicon.ico request")
        #expect(html.contains("@media (max-width:760px)"))
        #expect(!html.contains("<script") && !html.contains("src=") && !html.contains("url("))
        #expect(!html.contains("<svg width"), "no fixed-width chart")
        #expect(!html.contains("`"), "no literal backticks: code is <code>")
        #expect(html.contains("<code>git grep -n on_start_span</code>"))
        #expect(html.contains("<code>DD_DJANGO_TRACING_MINIMAL=false</code>"))
        // Every table cell carries its label for the stacked (phone) layout.
        #expect(Self.count("<td>", in: html) == 0)
    }

    @Test func inShortNamesTheRules() {
        let html = ReportRenderer.html(Self.shop())
        let short = html.components(separatedBy: "id=\"in-short\"")[1].components(separatedBy: "</ul>")[0]
        #expect(short.contains("<a href=\"#rule-V4-STRUCT-TAG\"><code>V4-STRUCT-TAG</code></a> (1 finding, 2 spans)"))
        #expect(short.contains("<a href=\"#rule-V4-DJANGO-MINIMAL\"><code>V4-DJANGO-MINIMAL</code></a> (one fix for 3 findings, 69 spans)"))
        let md = ReportRenderer.markdown(Self.shop())
        #expect(md.contains("- **What v4 changes by default**: `V4-DJANGO-MINIMAL` (one fix for 3 findings, 69 spans), `V4-CONFIG` (1 finding, 3 requests)."))
    }

    @Test func servicesSayWhatTheyCountAndTheSettingUniformly() {
        let r = Self.shop()
        let md = ReportRenderer.markdown(r)
        #expect(md.contains("| shop | 100 | 3.19.9 (8 requests) | — | v0.4 (8 requests) | v0.4 |"))
        #expect(md.contains("| worker | 5 | — | — | v0.5 (1 request) | not set (ddtrace's default) |"))
        #expect(md.contains("`_dd.base_service`"))
        let html = ReportRenderer.html(r)
        #expect(Self.count("<td data-label=\"DD_TRACE_API_VERSION\">", in: html) == 2)
        #expect(Self.count("<td data-label=\"DD_TRACE_API_VERSION\">not set (ddtrace&#39;s default)</td>", in: html) == 1)
    }

    /// An unset DD_TRACE_API_VERSION is absent from the JSON (never ""), reads "not set" on every
    /// screen, and an older report's "" merges as absent.
    @Test func unsetAPIVersionIsAbsentEverywhere() throws {
        var old = Report()
        var s = ServiceSummary()
        s.configuredAPIVersion = ""
        old.services["legacy"] = s
        let merged = Report().merged(with: old)
        #expect(merged.services["legacy"]?.configuredAPIVersion == nil)
        let json = String(decoding: ReportRenderer.json(merged), as: UTF8.self)
        #expect(!json.contains("configured_api_version"))
        #expect(ReportRenderer.markdown(old).contains("| not set (ddtrace's default) |"))
    }

    @Test func markdownGivesEachFixOnce() {
        let r = Self.shop()
        let md = ReportRenderer.markdown(r)
        for rule in [RuleID.structTag, .djangoMinimal, .config] {
            #expect(Self.count(RuleText.markdown(rule.rule.fix), in: md) == 1, "\(rule.rawValue)'s fix once")
        }
        #expect(md.contains("- shop: breaks V4-STRUCT-TAG (1 finding, 2 spans); changes V4-DJANGO-MINIMAL (one fix for 3 findings, 69 spans), V4-CONFIG (1 finding, 3 requests)"))
        #expect(md.contains("| changes | V4-DJANGO-MINIMAL | Django spans that v4 no longer produces by default (`DD_DJANGO_TRACING_MINIMAL=true`) | 3 | 69 spans |"))
    }

    @Test func ruleTextSetsCodeAsCode() {
        #expect(RuleText.markdown("Set DD_DJANGO_TRACING_MINIMAL=false to keep these spans.") == "Set `DD_DJANGO_TRACING_MINIMAL=false` to keep these spans.")
        #expect(RuleText.html("store it with set_tag(key, json.dumps(value)) or split it") == "store it with <code>set_tag(key, json.dumps(value))</code> or split it")
        #expect(RuleText.html("`git grep -n on_start_span` and move the hook (see the guide).") == "<code>git grep -n on_start_span</code> and move the hook (see the guide).")
        #expect(RuleText.html("Replace set_struct_tag/get_struct_tag: a <b>") == "Replace <code>set_struct_tag</code>/<code>get_struct_tag</code>: a &lt;b&gt;")
        #expect(RuleText.markdown("Upgrade the Datadog Agent to 7.63.0 or later.") == "Upgrade the Datadog Agent to 7.63.0 or later.")
    }
}
