// libFuzzer entry point for the msgpack reader and the trace payload decoder.
//
// Built by `make fuzz` (mk/fuzz.mk) with `swiftc -sanitize=fuzzer,address`, outside SwiftPM, so
// that the normal build never sees it. The first input byte picks what is fuzzed, the rest is the
// document: v0.4, v0.5, the whole-value decoder, or a skip over every top-level value.
import MessagePack
import TracePayload

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let selector = data[0]
    let body = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    switch selector & 3 {
    case 0, 1:
        var decoder = TracePayloadDecoder()
        var seen = 0
        _ = try? decoder.visit(body, format: selector & 3 == 0 ? .v04 : .v05) { span in
            // Walk everything the visitor can reach, as the rules and the CLI do.
            span.meta.forEach { k, v in seen &+= k.count &+ v.count }
            span.metrics.forEach { k, v in seen &+= k.count &+ (v.isInteger ? 1 : 0) }
            span.metaStruct.forEach { k, v in
                seen &+= k.count
                if let value = try? MessagePackReader.decode(v.base) { seen &+= value == .nil ? 1 : 2 }
            }
            seen &+= span.service.count &+ span.name.count &+ span.resource.count &+ span.type.count
            seen &+= span.spanLinks.count &+ span.spanEvents.count
        }
        if seen == -1 { print(seen) }
    case 2:
        if let value = try? MessagePackReader.decode(body) {
            // A value that decodes re-encodes and decodes to itself.
            let again = MessagePackWriter.encode(value)
            let back = again.withUnsafeBytes { try? MessagePackReader.decode($0) }
            precondition(back == value, "re-encoded value decodes differently")
        }
    default:
        var reader = MessagePackReader(bytes: body)
        while !reader.isAtEnd {
            let before = reader.offset
            do { try reader.skipValue() } catch { break }
            precondition(reader.offset > before, "skipValue made no progress")
        }
    }
    return 0
}
