#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore

/// Finds where each HTTP/1.1 response ends and what its status is, and nothing else: no
/// header becomes a String. Bodies are framed by Content-Length or chunked encoding, the
/// two a keep-alive server uses. This is all a load generator needs of a response, and it
/// keeps the generator from being the bottleneck it measures.
struct HTTPResponseScanner {
    enum ScanError: Error, Equatable {
        case malformed(String)
    }

    private enum State {
        case statusLine
        case headers
        case body(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
    }

    private var state = State.statusLine
    private var pending = ByteBuffer()
    private var status = 0
    private var contentLength: Int?
    private var chunked = false
    private var closes = false

    /// Feeds bytes; calls `onResponse` with the status of every response completed by them and
    /// whether it said `Connection: close`.
    mutating func feed(_ buffer: inout ByteBuffer, onResponse: (_ status: Int, _ closes: Bool) -> Void) throws(ScanError) {
        if pending.readableBytes == 0 {
            try scan(&buffer, onResponse: onResponse)
            if buffer.readableBytes > 0 { pending.writeBuffer(&buffer) }
        } else {
            pending.writeBuffer(&buffer)
            var combined = pending
            pending.clear()
            try scan(&combined, onResponse: onResponse)
            if combined.readableBytes > 0 { pending.writeBuffer(&combined) }
        }
    }

    /// Scans the buffer's bytes in place (no slices, no views: each would retain the
    /// buffer's storage) and consumes what it framed; an incomplete line stays for later.
    private mutating func scan(_ buffer: inout ByteBuffer, onResponse: (Int, Bool) -> Void) throws(ScanError) {
        let consumed = try buffer.withUnsafeReadableBytes { bytes throws(ScanError) in
            try scan(bytes, onResponse: onResponse)
        }
        buffer.moveReaderIndex(forwardBy: consumed)
    }

    private mutating func scan(_ bytes: UnsafeRawBufferPointer, onResponse: (Int, Bool) -> Void) throws(ScanError) -> Int {
        var index = 0
        while true {
            switch state {
            case .statusLine:
                guard let (line, next) = Self.line(in: bytes, from: index) else { return index }
                index = next
                status = try Self.status(of: line)
                contentLength = nil
                chunked = false
                closes = false
                state = .headers
            case .headers:
                guard let (line, next) = Self.line(in: bytes, from: index) else { return index }
                index = next
                if line.isEmpty {
                    if (100..<200).contains(status) {
                        state = .statusLine
                    } else if chunked {
                        state = .chunkSize
                    } else if let contentLength {
                        state = .body(remaining: contentLength)
                    } else if status == 204 || status == 304 {
                        state = .body(remaining: 0)
                    } else {
                        throw .malformed("a response with neither Content-Length nor chunked encoding")
                    }
                } else {
                    try header(line)
                }
            case .body(let remaining):
                let taken = min(remaining, bytes.count - index)
                index += taken
                guard taken == remaining else {
                    state = .body(remaining: remaining - taken)
                    return index
                }
                state = .statusLine
                onResponse(status, closes)
            case .chunkSize:
                guard let (line, next) = Self.line(in: bytes, from: index) else { return index }
                index = next
                let size = try Self.chunkSize(line)
                state = size == 0 ? .trailers : .chunkData(remaining: size)
            case .chunkData(let remaining):
                let taken = min(remaining, bytes.count - index)
                index += taken
                guard taken == remaining else {
                    state = .chunkData(remaining: remaining - taken)
                    return index
                }
                state = .chunkDataEnd
            case .chunkDataEnd:
                guard let (line, next) = Self.line(in: bytes, from: index) else { return index }
                index = next
                guard line.isEmpty else { throw .malformed("chunk data longer than its size") }
                state = .chunkSize
            case .trailers:
                guard let (line, next) = Self.line(in: bytes, from: index) else { return index }
                index = next
                if line.isEmpty {
                    state = .statusLine
                    onResponse(status, closes)
                }
            }
        }
    }

    private mutating func header(_ line: UnsafeRawBufferPointer) throws(ScanError) {
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { throw .malformed("a header line without ':'") }
        let name = UnsafeRawBufferPointer(rebasing: line[..<colon])
        var valueStart = colon + 1
        while valueStart < line.count, line[valueStart] == UInt8(ascii: " ") || line[valueStart] == UInt8(ascii: "\t") {
            valueStart += 1
        }
        let value = UnsafeRawBufferPointer(rebasing: line[valueStart...])
        if Self.equalsIgnoringCase(name, "content-length") {
            var length = 0
            for byte in value where byte != UInt8(ascii: " ") && byte != UInt8(ascii: "\t") {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte), length < 1 << 40 else {
                    throw .malformed("Content-Length is not a number")
                }
                length = length * 10 + Int(byte - UInt8(ascii: "0"))
            }
            contentLength = length
        } else if Self.equalsIgnoringCase(name, "transfer-encoding") {
            chunked = Self.containsIgnoringCase(value, "chunked")
        } else if Self.equalsIgnoringCase(name, "connection") {
            closes = Self.containsIgnoringCase(value, "close")
        }
    }

    /// The CRLF-terminated line starting at `start`, without the CRLF, and where the next one
    /// starts; nil when it is not all here yet.
    private static func line(in bytes: UnsafeRawBufferPointer, from start: Int) -> (UnsafeRawBufferPointer, next: Int)? {
        guard start < bytes.count, let base = bytes.baseAddress,
            let found = memchr(base + start, Int32(UInt8(ascii: "\n")), bytes.count - start)
        else { return nil }
        let newline = base.distance(to: found)
        var end = newline
        if end > start, bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        return (UnsafeRawBufferPointer(rebasing: bytes[start..<end]), newline + 1)
    }

    private static func status(of line: UnsafeRawBufferPointer) throws(ScanError) -> Int {
        guard line.count >= 12, line.starts(with: "HTTP/1.".utf8) else { throw .malformed("not an HTTP/1.x status line") }
        var status = 0
        for byte in line[9..<12] {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { throw .malformed("the status is not three digits") }
            status = status * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return status
    }

    private static func chunkSize(_ line: UnsafeRawBufferPointer) throws(ScanError) -> Int {
        var size = 0
        var digits = 0
        for byte in line {
            let value: Int
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = Int(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): value = Int(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): value = Int(byte - UInt8(ascii: "A") + 10)
            case UInt8(ascii: ";"):
                guard digits > 0 else { throw .malformed("an empty chunk size") }
                return size
            default: throw .malformed("a chunk size is not hexadecimal")
            }
            guard digits < 12 else { throw .malformed("a chunk size is too large") }
            size = size * 16 + value
            digits += 1
        }
        guard digits > 0 else { throw .malformed("an empty chunk size") }
        return size
    }

    private static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ lowercase: StaticString) -> Bool {
        guard bytes.count == lowercase.utf8CodeUnitCount else { return false }
        return lowercase.withUTF8Buffer { expected in
            for index in 0..<bytes.count where bytes[index] | 0x20 != expected[index] && bytes[index] != expected[index] {
                return false
            }
            return true
        }
    }

    private static func containsIgnoringCase(_ haystack: UnsafeRawBufferPointer, _ lowercase: StaticString) -> Bool {
        lowercase.withUTF8Buffer { needle in
            guard needle.count <= haystack.count else { return false }
            for start in 0...(haystack.count - needle.count) {
                var matched = true
                for offset in 0..<needle.count where haystack[start + offset] | 0x20 != needle[offset] {
                    matched = false
                    break
                }
                if matched { return true }
            }
            return false
        }
    }
}
