import Foundation
import NIOCore
import NIOHTTP1
import Testing
@testable import TraceCompatProxy

/// A body kept for analysis: large parts are NIO's own buffers (not copied on the event loop),
/// small parts are gathered, and the analysis thread gets exactly the bytes that were forwarded.
@Suite struct TeeBodyTests {
    let allocator = ByteBufferAllocator()

    func buffer(_ bytes: [UInt8]) -> ByteBuffer { allocator.buffer(bytes: bytes) }

    func baseAddress(_ buffer: ByteBuffer) -> UnsafeRawPointer? {
        buffer.withUnsafeReadableBytes { UnsafeRawPointer($0.baseAddress) }
    }

    @Test func largePartsAreKeptWithoutCopying() {
        let parts = (0..<3).map { i in buffer((0..<(64 * 1024)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ i) }) }
        var tee = TeeBody()
        for part in parts { tee.append(part, allocator: allocator) }
        #expect(tee.parts.count == 3)
        #expect(tee.count == 3 * 64 * 1024)
        for (kept, original) in zip(tee.parts, parts) {
            #expect(baseAddress(kept) == baseAddress(original), "the read buffer itself, not a copy")
        }
        #expect(tee.contiguous() == parts.flatMap { Array($0.readableBytesView) })
    }

    @Test func smallPartsAreGatheredIntoOneBuffer() {
        let parts = (0..<500).map { i in buffer(Array(repeating: UInt8(i % 251), count: 10 + i % 7)) }
        var tee = TeeBody()
        for part in parts { tee.append(part, allocator: allocator) }
        #expect(tee.parts.count == 1, "500 small parts must not pin 500 read buffers")
        #expect(tee.count == parts.reduce(0) { $0 + $1.readableBytes })
        #expect(tee.contiguous() == parts.flatMap { Array($0.readableBytesView) })
    }

    @Test func mixedPartsKeepTheirOrder() {
        let small1 = buffer(Array("abc".utf8))
        let large = buffer(Array(repeating: 0x42, count: TeeBody.keepAsIsFrom))
        let small2 = buffer(Array("xyz".utf8))
        let empty = buffer([])
        var tee = TeeBody()
        for part in [small1, empty, large, small2, small2] { tee.append(part, allocator: allocator) }
        #expect(tee.parts.count == 3)
        #expect(tee.contiguous() == Array("abc".utf8) + Array(repeating: 0x42, count: TeeBody.keepAsIsFrom) + Array("xyzxyz".utf8))
        // A slice of a larger read buffer keeps only its readable bytes.
        var read = buffer(Array(repeating: 1, count: 100) + Array(repeating: 2, count: TeeBody.keepAsIsFrom))
        read.moveReaderIndex(forwardBy: 100)
        var sliced = TeeBody()
        sliced.append(read, allocator: allocator)
        #expect(sliced.contiguous() == Array(repeating: 2, count: TeeBody.keepAsIsFrom))
    }

    @Test func forwardedRequestBecomesTheCapturedRequest() {
        // The head as the client sent it: header strings are made from its bytes on the analysis thread.
        // Only the fields the analysis reads become strings (`CapturedRequest.tracerHeader(named:)`),
        // in their order; a name one letter off is not one of them.
        let head = ByteBuffer(string: "PUT /v0.4/traces?x=1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/msgpack\r\n"
                                  + "X-Datadog-Trace-Count:  2 \r\nDatadog-Meta-Lang: python\r\nDATADOG-META-TRACER-VERSION: 3.19.9\r\n"
                                  + "Datadog-Meta-Lang-Versio: 3.12\r\ndatadog-meta-lang-version: 3.12.1\r\n\r\n")
        guard case .head(let scanned) = RequestHeadScanner.scan(head) else { Issue.record("not a head"); return }
        var tee = TeeBody()
        tee.append(buffer([0x92, 0x90]), allocator: allocator)
        tee.append(buffer([0x90]), allocator: allocator)
        let at = Date(timeIntervalSince1970: 1_700_000_000)
        let captured = ForwardedRequest(method: "PUT", uri: "/v0.4/traces?x=1", head: head, scanned: scanned, body: tee, receivedAt: at).captured()
        #expect(captured.method == "PUT")
        #expect(captured.path == "/v0.4/traces?x=1")
        #expect(captured.headers.map(\.name) == ["Datadog-Meta-Lang", "DATADOG-META-TRACER-VERSION", "datadog-meta-lang-version"])
        #expect(captured.headers.map(\.value) == ["python", "3.19.9", "3.12.1"])
        #expect(captured.header("x-datadog-trace-count") == nil)
        let sent = captured.tracerHeaders()
        #expect(sent.language == "python" && sent.tracerVersion == "3.19.9" && sent.langVersion == "3.12.1")
        #expect(captured.body == [0x92, 0x90, 0x90])
        #expect(captured.receivedAt == at)
        #expect(AnalysisQueue.Work.forwarded(ForwardedRequest(method: "PUT", uri: "/v0.4/traces?x=1", head: head, scanned: scanned, body: tee, receivedAt: at)).size == 3)
    }

    @Test func mallocTuningLeavesUserSettingsAlone() {
        #expect(!MallocTuning.apply(environment: ["GLIBC_TUNABLES": "glibc.malloc.trim_threshold=1"]))
        #expect(!MallocTuning.apply(environment: ["MALLOC_TRIM_THRESHOLD_": "1"]))
        #expect(!MallocTuning.apply(environment: ["MALLOC_MMAP_THRESHOLD_": "1"]))
        #expect(MallocTuning.apply(environment: ["PATH": "/usr/bin"]), "glibc accepts both values")
    }
}
