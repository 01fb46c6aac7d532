import TraceAnalysis

/// The tracer header fields (`CapturedRequest.tracerHeader(named:)`) of the last request an
/// analysis thread read, as the strings the analyzer takes, with the bytes they were made from.
///
/// An app sends the same language and versions on every payload, so a request whose tracer
/// fields have the same bytes, in the same order, as the last one's gets the same strings back:
/// no string, array or allocation per payload. Eight strings and their array made and freed on
/// every payload were a tenth of a small payload's analysis in the proxy (perf, 1,000 manual-v04
/// payloads/s). Any difference in a name (case included) or a value, or in their number, makes
/// new strings, so what the analyzer reads is always exactly what this request sent. What it
/// holds is bounded by one head (`max_head_bytes`, 80 KiB by default) twice over, per thread.
struct TracerHeaderCache {
    /// The fields the strings were made from, each as: name length (1 byte: a tracer field name
    /// is 17 to 27 bytes), the name, value length (4 bytes, little-endian), the value.
    private var key: [UInt8] = []
    /// The next request's fields in the same encoding (kept to reuse its capacity).
    private var scratch: [UInt8] = []
    private var strings: [(name: String, value: String)] = []

    /// The tracer header fields of a head whose fields `scanned` found in `bytes`, in order.
    mutating func headers(in bytes: UnsafeRawBufferPointer, scanned: ScannedRequestHead) -> [(name: String, value: String)] {
        scratch.removeAll(keepingCapacity: true)
        scanned.forEachAcceptedField(in: bytes) { name, value in
            let nameBytes = UnsafeRawBufferPointer(rebasing: bytes[name])
            guard CapturedRequest.tracerHeader(named: nameBytes) != nil else { return }
            scratch.append(UInt8(truncatingIfNeeded: name.count))
            scratch.append(contentsOf: nameBytes)
            withUnsafeBytes(of: UInt32(truncatingIfNeeded: value.count).littleEndian) { scratch.append(contentsOf: $0) }
            scratch.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[value]))
        }
        if scratch == key { return strings }
        swap(&key, &scratch)
        strings = Self.decode(key)
        return strings
    }

    /// The strings of fields in `key`'s encoding.
    private static func decode(_ key: [UInt8]) -> [(name: String, value: String)] {
        var out: [(name: String, value: String)] = []
        key.withUnsafeBytes { bytes in
            var i = 0
            while i < bytes.count {
                let nameCount = Int(bytes[i])
                let name = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[i + 1 ..< i + 1 + nameCount]), as: UTF8.self)
                i += 1 + nameCount
                var valueCount: UInt32 = 0
                withUnsafeMutableBytes(of: &valueCount) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[i ..< i + 4])) }
                let count = Int(UInt32(littleEndian: valueCount))
                i += 4
                out.append((name: name, value: String(decoding: UnsafeRawBufferPointer(rebasing: bytes[i ..< i + count]), as: UTF8.self)))
                i += count
            }
        }
        return out
    }
}
