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

    private mutating func scan(_ buffer: inout ByteBuffer, onResponse: (Int, Bool) -> Void) throws(ScanError) {
        while true {
            switch state {
            case .statusLine:
                guard let line = Self.line(in: &buffer) else { return }
                status = try Self.status(of: line)
                contentLength = nil
                chunked = false
                closes = false
                state = .headers
            case .headers:
                guard let line = Self.line(in: &buffer) else { return }
                if line.readableBytes == 0 {
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
                guard Self.skip(remaining, in: &buffer, else: { self.state = .body(remaining: $0) }) else { return }
                state = .statusLine
                onResponse(status, closes)
            case .chunkSize:
                guard let line = Self.line(in: &buffer) else { return }
                let size = try Self.chunkSize(line)
                state = size == 0 ? .trailers : .chunkData(remaining: size)
            case .chunkData(let remaining):
                guard Self.skip(remaining, in: &buffer, else: { self.state = .chunkData(remaining: $0) }) else { return }
                state = .chunkDataEnd
            case .chunkDataEnd:
                guard let line = Self.line(in: &buffer) else { return }
                guard line.readableBytes == 0 else { throw .malformed("chunk data longer than its size") }
                state = .chunkSize
            case .trailers:
                guard let line = Self.line(in: &buffer) else { return }
                if line.readableBytes == 0 {
                    state = .statusLine
                    onResponse(status, closes)
                }
            }
        }
    }

    private mutating func header(_ line: ByteBuffer) throws(ScanError) {
        let view = line.readableBytesView
        guard let colon = view.firstIndex(of: UInt8(ascii: ":")) else { throw .malformed("a header line without ':'") }
        let name = view[view.startIndex..<colon]
        let value = view[(colon + 1)...].drop { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
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

    /// Skips up to `count` body bytes; true when all were there, else hands `stillMissing`
    /// the number still to come.
    private static func skip(_ count: Int, in buffer: inout ByteBuffer, else stillMissing: (Int) -> Void) -> Bool {
        let taken = min(count, buffer.readableBytes)
        buffer.moveReaderIndex(forwardBy: taken)
        guard taken == count else {
            stillMissing(count - taken)
            return false
        }
        return true
    }

    /// The next CRLF-terminated line, without the CRLF; nil when it is not all here yet.
    private static func line(in buffer: inout ByteBuffer) -> ByteBuffer? {
        let view = buffer.readableBytesView
        guard let newline = view.firstIndex(of: UInt8(ascii: "\n")) else {
            return nil
        }
        let length = newline - view.startIndex
        var line = buffer.readSlice(length: length + 1)!
        line.moveWriterIndex(to: line.writerIndex - 1)
        if line.readableBytesView.last == UInt8(ascii: "\r") {
            line.moveWriterIndex(to: line.writerIndex - 1)
        }
        return line
    }

    private static func status(of line: ByteBuffer) throws(ScanError) -> Int {
        let view = line.readableBytesView
        guard view.count >= 12, view.starts(with: "HTTP/1.".utf8) else { throw .malformed("not an HTTP/1.x status line") }
        let digits = view.dropFirst(9).prefix(3)
        var status = 0
        for byte in digits {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { throw .malformed("the status is not three digits") }
            status = status * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return status
    }

    private static func chunkSize(_ line: ByteBuffer) throws(ScanError) -> Int {
        var size = 0
        var digits = 0
        for byte in line.readableBytesView {
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

    private static func equalsIgnoringCase(_ bytes: some Collection<UInt8>, _ lowercase: StaticString) -> Bool {
        guard bytes.count == lowercase.utf8CodeUnitCount else { return false }
        return lowercase.withUTF8Buffer { expected in
            zip(bytes, expected).allSatisfy { ($0 | 0x20) == $1 || ($0 == $1) }
        }
    }

    private static func containsIgnoringCase<Bytes: RandomAccessCollection<UInt8>>(_ haystack: Bytes, _ lowercase: StaticString) -> Bool {
        lowercase.withUTF8Buffer { needle in
            guard needle.count <= haystack.count else { return false }
            var start = haystack.startIndex
            let last = haystack.index(haystack.endIndex, offsetBy: -needle.count)
            while start <= last {
                var matched = true
                var position = start
                for expected in needle {
                    if haystack[position] | 0x20 != expected {
                        matched = false
                        break
                    }
                    position = haystack.index(after: position)
                }
                if matched { return true }
                start = haystack.index(after: start)
            }
            return false
        }
    }
}
