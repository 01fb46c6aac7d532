import Testing
import Foundation
import TracePayload

@Test func fixtureSpanCountsQuick() throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../shared/fixtures").standardized
    for scenario in try FileManager.default.contentsOfDirectory(atPath: root.path) where scenario != "generate" {
        let dir = root.appendingPathComponent(scenario)
        for f in try FileManager.default.contentsOfDirectory(atPath: dir.path) where f.hasSuffix(".msgpack") {
            let data = try [UInt8](Data(contentsOf: dir.appendingPathComponent(f)))
            var dec = TracePayloadDecoder()
            var metaCount = 0
            let s = try dec.visit(data, format: TraceFormat(fileName: f)!) { span in
                span.meta.forEach { _, _ in metaCount += 1 }
            }
            print(scenario, f, s, metaCount)
        }
    }
}
