// decoder-profile: decodes one benchmark payload in a loop, for profilers (callgrind, perf) and
// quick checks; the measured numbers come from `swift package benchmark`.
//   swift run -c release decoder-profile ours|msgpack-c PAYLOAD-NAME [ITERATIONS]
import DecoderWorkloads
import Foundation
import TracePayload

let args = CommandLine.arguments
guard args.count >= 3, ["ours", "msgpack-c"].contains(args[1]) else {
    FileHandle.standardError.write(Data("usage: decoder-profile ours|msgpack-c PAYLOAD-NAME [ITERATIONS]\n".utf8))
    exit(2)
}
let payloads = args[2] == "generated-v04" ? [BenchmarkPayload.generated()] : BenchmarkPayload.fixtures()
guard let payload = payloads.first(where: { $0.name == args[2] }) else {
    FileHandle.standardError.write(Data("no payload \(args[2]); have: \(payloads.map(\.name))\n".utf8))
    exit(2)
}
let iterations = args.count > 3 ? Int(args[3]) ?? 100 : 100
var decoder = TracePayloadDecoder()
var sum: UInt64 = 0
let started = ContinuousClock.now
payload.bytes.withUnsafeBytes { buffer in
    for _ in 0..<iterations {
        sum &+= args[1] == "ours" ? decodeOurs(&decoder, buffer, payload.format) : decodeMsgpackC(buffer)
    }
}
let elapsed = ContinuousClock.now - started
let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
let mb = Double(payload.bytes.count * iterations) / 1_000_000
print("\(args[1]) \(payload.name): \(payload.bytes.count) bytes, \(payload.spans) spans x \(iterations): "
    + String(format: "%.0f MB/s, %.0f spans/s", mb / seconds, Double(payload.spans * iterations) / seconds) + " (checksum \(sum))")
