"""The PromQL the fleet test asks Prometheus, in one place (docs/fleet.md and README's "Fleet" show
the same queries).

The fleet families of /metrics (docs/proxy.md): `trace_compat_findings_total{rule,severity,app}`
(occurrences, counter), `trace_compat_finding_groups{rule,severity,app}`, `trace_compat_app_info{app,
tracer_version,python_version,api_version}`, `trace_compat_app_spans_total{app}` and
`trace_compat_v4_ready{app}`, plus the request counters. Every series carries the `node` label that
the scrape config (like deploy/prometheus) gives each proxy.
"""

# THE question: which apps in the fleet would break on v4, and why (rule), with how many occurrences.
APPS_THAT_BREAK = 'sum by (app, rule) (trace_compat_findings_total{severity="breaks"}) > 0'
# Which apps are not v4-ready anywhere in the fleet (a `breaks` or `changes` finding on some node).
APPS_NOT_READY = "min by (app) (trace_compat_v4_ready) == 0"
# Every app's readiness, fleet-wide (1 = ready on every node that saw it).
APP_READINESS = "min by (app) (trace_compat_v4_ready)"
# Everything by app, rule and severity, through the recording rule of deploy/prometheus/trace-compat.rules.yml
# (the test loads that file, so the rule itself is exercised on real data).
FINDINGS_BY_APP_RULE_SEVERITY = "app_rule_severity:trace_compat_findings_total:sum"
# Findings by node and rule (recording rule): where in the fleet.
FINDINGS_BY_NODE_AND_RULE = "node_rule:trace_compat_findings_total:sum"
# Finding groups by app and rule (distinct places in the code, not occurrences).
GROUPS_BY_APP_AND_RULE = "sum by (app, rule) (trace_compat_finding_groups)"
# Spans per app across the fleet.
SPANS_BY_APP = "sum by (app) (trace_compat_app_spans_total)"
# Versions per app and node.
APP_INFO = "trace_compat_app_info"
# Trace payloads each node's proxy answered 200 (what the apps sent, as the proxy saw it).
TRACE_PAYLOADS_BY_NODE = 'sum by (node) (trace_compat_requests_total{endpoint=~"/v0\\\\.[0-9x]+/traces",status="200"})'
# The analysis coverage recording rule (1 = every trace payload analysed).
COVERAGE_BY_NODE = "node:trace_compat_analysis_coverage:ratio_rate10m"
