import CompatRules
import Testing

@Suite struct V4CanaryDiffRuleTests {
    @Test func majorVersionOfTheTracerHeader() {
        #expect(V4CanaryDiffRule.major(ofTracerVersion: "3.19.9") == "3")
        #expect(V4CanaryDiffRule.major(ofTracerVersion: "4.0.0rc1") == "4")
        #expect(V4CanaryDiffRule.major(ofTracerVersion: "10.1") == "10")
        #expect(V4CanaryDiffRule.major(ofTracerVersion: "") == nil)
        #expect(V4CanaryDiffRule.major(ofTracerVersion: "v4.0") == nil)
    }

    @Test func clearlyLowerIsAtMostHalfAndNotZero() {
        #expect(V4CanaryDiffRule.isClearlyLower(before: 2, after: 1))
        #expect(!V4CanaryDiffRule.isClearlyLower(before: 2, after: 1.01))
        #expect(!V4CanaryDiffRule.isClearlyLower(before: 2, after: 0))  // that is "gone"
        #expect(V4CanaryDiffRule.isMost(0.5) && !V4CanaryDiffRule.isMost(0.49))
    }

    @Test func confidenceFromTheSmallerSample() {
        #expect(V4CanaryDiffRule.confidence(beforeTraces: 1000, afterTraces: 20) == .high)
        #expect(V4CanaryDiffRule.confidence(beforeTraces: 1000, afterTraces: 19) == .medium)
        #expect(V4CanaryDiffRule.confidence(beforeTraces: 5, afterTraces: 1000) == .medium)
        #expect(V4CanaryDiffRule.confidence(beforeTraces: 4, afterTraces: 1000) == .low)
    }

    @Test func libraryGeneratedKeysNeverCount() {
        for key in ["_dd.p.tid", "_dd.base_service", "_sampling_priority_v1", "_top_level", "runtime-id", "process_id", "language", "other"] {
            #expect(!V4CanaryDiffRule.countsAsTagDifference(key), "\(key)")
        }
        for key in ["django.db.alias", "http.route", "component", "db.name"] {
            #expect(V4CanaryDiffRule.countsAsTagDifference(key), "\(key)")
        }
    }

    @Test func djangoOperationsArePredictedByDjangoMinimal() {
        #expect(V4CanaryDiffRule.prediction(name: "sqlite.query", type: "sql", component: "django-database")?.kind == "database")
        #expect(V4CanaryDiffRule.prediction(name: "django.cache", type: "cache", component: "django")?.rule == .djangoMinimal)
        #expect(V4CanaryDiffRule.prediction(name: "django.template.render", type: "template", component: "django")?.kind == "template")
        #expect(V4CanaryDiffRule.prediction(name: "sqlite.query", type: "sql", component: "sqlite") == nil)
        #expect(V4CanaryDiffRule.prediction(name: "jinja2.render", type: "template", component: "jinja2") == nil)
    }
}
