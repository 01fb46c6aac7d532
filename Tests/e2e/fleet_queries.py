"""The PromQL the fleet test asks Prometheus, in one place (docs/fleet.md shows the same queries).

Today's metric names (docs/proxy.md): `trace_compat_findings{rule}` (a gauge of the report's totals)
and the request counters. When the fleet families land (`trace_compat_findings_total{rule,severity,app}`,
`trace_compat_v4_ready{app}`, ...), this is the one file to change. Every series carries the `node`
label that the scrape config (like deploy/prometheus) gives each proxy.
"""

# Findings by node and rule, through the recording rule of deploy/prometheus/trace-compat.rules.yml
# (the test loads that file, so the rule itself is exercised on real data).
FINDINGS_BY_NODE_AND_RULE = "node_rule:trace_compat_findings:sum"
# The fleet at once: "which v4 rules does the fleet trip, how often".
FINDINGS_BY_RULE = "sum by (rule) (trace_compat_findings)"
# Trace payloads each node's proxy answered 200 (what the apps sent, as the proxy saw it).
TRACE_PAYLOADS_BY_NODE = 'sum by (node) (trace_compat_requests_total{endpoint=~"/v0\\\\.[0-9x]+/traces",status="200"})'
# The analysis coverage recording rule (1 = every trace payload analysed).
COVERAGE_BY_NODE = "node:trace_compat_analysis_coverage:ratio_rate10m"
# Which nodes have a finding of a rule whose severity is `breaks` (the alert's expression).
NODES_WITH_BREAKS = ('sum by (node) (node_rule:trace_compat_findings:sum{rule=~"V4-STRUCT-TAG|V4-PYTHON|'
                     'V4-PLATFORM|V4-AGENT|V4-INTEGRATION|V4-REMOVED-API"}) > 0')
