import Foundation
import Testing

/// `trace-compat audit` as a real process: exit codes, stdout summary, the stderr line for a damaged
/// file, and the reports it writes.
@Suite(.serialized) struct AuditCommandTests {
    @Test func binaryIsBuilt() {
        #expect(FileManager.default.isExecutableFile(atPath: CLI.binary), "expected the trace-compat binary at \(CLI.binary)")
    }

    @Test func auditOfAllFixturesSummarisesAndWritesReports() throws {
        let dir = try CLI.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try CLI.run(["audit", CLI.fixtures, "--json", dir + "/r.json", "--markdown", dir + "/r.md", "--html", dir + "/r.html"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("V4-DJANGO-MINIMAL"))
        #expect(r.stdout.contains("database 348, cache 12, template 6"))
        #expect(r.stdout.contains("V4-STRUCT-TAG"))
        #expect(r.stdout.contains("Verdict:"))
        #expect(r.stderr.isEmpty, "\(r.stderr)")
        let json = try CLI.json(dir + "/r.json")
        #expect(json["schema"] as? String == "trace-compat/report/v1")
        let traffic = json["traffic"] as! [String: Any]
        #expect(traffic["spans"] as? Int == 409 + 409 + 226 + 15 * 3)
        let findings = json["findings"] as! [[String: Any]]
        // 7 repr (span, key) per manual scenario, struct tags only from the two v0.4 ones.
        #expect(findings.filter { $0["rule"] as? String == "V4-TAG-REPR" }.reduce(0) { $0 + ($1["count"] as! Int) } == 21)
        #expect(findings.filter { $0["rule"] as? String == "V4-STRUCT-TAG" }.reduce(0) { $0 + ($1["count"] as! Int) } == 2)
        let html = try String(contentsOfFile: dir + "/r.html", encoding: .utf8)
        #expect(html.contains("<section id=\"findings\">"))
        #expect(html.components(separatedBy: "<tr class=\"finding\"").count - 1 == findings.count)
        #expect(try String(contentsOfFile: dir + "/r.md", encoding: .utf8).contains("## What to do"))
    }

    @Test func failOnExitsThreeAtOrAboveTheSeverity() throws {
        let v04 = CLI.fixtures + "/manual-v04"
        let v05 = CLI.fixtures + "/manual-v05"
        #expect(try CLI.run(["audit", v04, "--fail-on", "breaks"]).status == 3)  // struct tag
        #expect(try CLI.run(["audit", v05, "--fail-on", "breaks"]).status == 0)  // v0.5 hides it
        #expect(try CLI.run(["audit", v05, "--fail-on", "changes"]).status == 0)
        #expect(try CLI.run(["audit", v05, "--fail-on", "check"]).status == 3)
        #expect(try CLI.run(["audit", CLI.fixtures + "/django-full-v05", "--fail-on", "changes"]).status == 3)
        #expect(try CLI.run(["audit", CLI.fixtures + "/django-minimal-v04", "--fail-on", "check"]).status == 0)
        #expect(try CLI.run(["audit", v04, "--fail-on", "sometimes"]).status == 64)
    }

    @Test func damagedAndForeignFilesGetOneLineEachAndChangeNothingElse() throws {
        let dir = try CLI.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let src = CLI.fixtures + "/manual-v05"
        for name in try FileManager.default.contentsOfDirectory(atPath: src) {
            try FileManager.default.copyItem(atPath: src + "/" + name, toPath: dir + "/" + name)
        }
        let clean = try CLI.run(["audit", dir, "--fail-on", "breaks", "--json", dir + "/clean.json"])
        // A second, truncated copy of the payload, and a foreign file.
        let payload = try Data(contentsOf: URL(fileURLWithPath: dir + "/001-POST-v0.5_traces.msgpack"))
        try payload.prefix(payload.count / 2).write(to: URL(fileURLWithPath: dir + "/009-POST-v0.5_traces.msgpack"))
        try Data("hello".utf8).write(to: URL(fileURLWithPath: dir + "/notes.txt"))
        let r = try CLI.run(["audit", dir, dir + "/notes.txt", "--fail-on", "breaks", "--allow-decode-errors", "--json", dir + "/r.json"])
        #expect(clean.status == 0)
        #expect(r.status == 0)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 2, "\(r.stderr)")
        // Without --allow-decode-errors the gate fails on what it could not read: exit 3, one more line.
        let gated = try CLI.run(["audit", dir, dir + "/notes.txt", "--fail-on", "breaks"])
        #expect(gated.status == 3)
        let gatedLines = gated.stderr.split(separator: "\n")
        #expect(gatedLines.count == 3, "\(gated.stderr)")
        #expect(gatedLines.last == "trace-compat audit: 2 input(s) could not be decoded, so the gate cannot pass: exit 3 (--allow-decode-errors to judge the rest)")
        // Without --fail-on there is no gate: the damaged files are reported and the status is 0.
        #expect(try CLI.run(["audit", dir, dir + "/notes.txt"]).status == 0)
        #expect(lines.contains { $0.contains("009-POST-v0.5_traces.msgpack") && $0.contains("byte offset") })
        #expect(lines.contains { $0.contains("notes.txt") })
        let json = try CLI.json(dir + "/r.json")
        let errors = (json["traffic"] as! [String: Any])["decode_errors"] as! [String: Any]
        #expect(errors["count"] as? Int == 2)
        let samples = errors["samples"] as! [[String: Any]]
        #expect(samples.contains { ($0["source"] as? String)?.hasSuffix("009-POST-v0.5_traces.msgpack") == true && ($0["offset"] as? Int ?? 0) > 0 })
        // The rest was audited as before.
        let before = try CLI.json(dir + "/clean.json")["findings"] as! [[String: Any]]
        let after = json["findings"] as! [[String: Any]]
        #expect(after.count == before.count)
    }

    @Test func redactKeepsNoExcerpts() throws {
        let dir = try CLI.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try CLI.run(["audit", CLI.fixtures + "/manual-v04", "--redact", "--json", dir + "/r.json"]).status == 0)
        let text = try String(contentsOfFile: dir + "/r.json", encoding: .utf8)
        #expect(!text.contains("\"excerpt\""))
        #expect(text.contains("\"value_type\" : \"dict\""))
    }

    @Test func reportMergeRenderAndCheck() throws {
        let dir = try CLI.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try CLI.run(["audit", CLI.fixtures + "/django-full-v04", "--json", dir + "/a.json"]).status == 0)
        #expect(try CLI.run(["audit", CLI.fixtures + "/manual-v04", "--json", dir + "/b.json"]).status == 0)
        let m = try CLI.run(["report", "merge", dir + "/a.json", dir + "/b.json", "-o", dir + "/m.json"])
        #expect(m.status == 0, "\(m.stderr)")
        let merged = try CLI.json(dir + "/m.json")
        #expect((merged["traffic"] as! [String: Any])["spans"] as? Int == 409 + 15)
        let both = try CLI.run(["audit", CLI.fixtures + "/django-full-v04", CLI.fixtures + "/manual-v04", "--json", dir + "/both.json"])
        #expect(both.status == 0)
        let direct = try CLI.json(dir + "/both.json")
        func counts(_ j: [String: Any]) -> [String: Int] {
            var out: [String: Int] = [:]
            for f in j["findings"] as! [[String: Any]] { out[f["rule"] as! String, default: 0] += f["count"] as! Int }
            return out
        }
        #expect(counts(merged) == counts(direct))
        let render = try CLI.run(["report", "render", dir + "/m.json", "--html", dir + "/m.html", "--markdown", dir + "/m.md"])
        #expect(render.status == 0)
        #expect(try String(contentsOfFile: dir + "/m.html", encoding: .utf8).contains("id=\"findings\""))
        let gate = try CLI.run(["report", "check", dir + "/m.json", "--fail-on", "breaks"])
        #expect(gate.status == 3)
        let breaks = (merged["findings"] as! [[String: Any]]).filter { $0["severity"] as? String == "breaks" }.count
        #expect(breaks > 0)
        #expect(gate.stderr == "trace-compat report check: \(breaks) finding(s) at or above 'breaks': exit 3\n", "\(gate.stderr)")
        let pass = try CLI.run(["report", "check", dir + "/a.json", "--fail-on", "breaks"])
        #expect(pass.status == 0 && pass.stderr.isEmpty, "\(pass.stderr)")
        #expect(try CLI.run(["report", "check", dir + "/nope.json"]).status == 1)
    }

    @Test func bareMsgpackIsJudgedByItsNameAndBrokenTelemetryNamesItsOffset() throws {
        let dir = try CLI.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.copyItem(atPath: CLI.fixtures + "/manual-v05/001-POST-v0.5_traces.msgpack", toPath: dir + "/capture-v0.5.msgpack")
        try Data(#"{"request_type": "app-started", "application": {"#.utf8).write(to: URL(fileURLWithPath: dir + "/x-apmtelemetry.body.json"))
        let r = try CLI.run(["audit", dir, "--json", dir + "/r.json"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("V4-TAG-REPR"))
        #expect(r.stderr.contains("x-apmtelemetry.body.json") && r.stderr.contains("byte offset 48"), "\(r.stderr)")
        let json = try CLI.json(dir + "/r.json")
        #expect((json["traffic"] as! [String: Any])["spans"] as? Int == 15)
    }

    @Test func helpNamesTheOptions() throws {
        let r = try CLI.run(["audit", "--help"])
        for option in ["--json", "--markdown", "--html", "--fail-on", "--redact"] { #expect(r.stdout.contains(option), "\(option)") }
    }
}
