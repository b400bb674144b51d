import NIOCore
import Testing

@testable import LoadEngine
@testable import LoadReports
@testable import LoadScenarios
@testable import TCPDelayProxy

@Suite struct HTTPResponseScannerTests {
    func statuses(_ chunks: [String]) throws -> [Int] {
        var scanner = HTTPResponseScanner()
        var seen: [Int] = []
        for chunk in chunks {
            var buffer = ByteBuffer(string: chunk)
            try scanner.feed(&buffer) { status, _ in seen.append(status) }
        }
        return seen
    }

    static let pipelined =
        "HTTP/1.1 200 OK\r\nServer: nginx\r\nCONTENT-LENGTH: 2\r\n\r\nok"
        + "HTTP/1.1 100 Continue\r\n\r\n"
        + "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n"
        + "HTTP/1.1 204 No Content\r\n\r\n"
        + "HTTP/1.0 503 Unavailable\r\ncontent-length: 0\r\n\r\n"

    @Test func framesLengthChunkedAndBodilessResponses() throws {
        #expect(try statuses([Self.pipelined]) == [200, 404, 204, 503])
    }

    @Test func framesTheSameWhateverTheSplit() throws {
        let bytes = Array(Self.pipelined.utf8)
        for size in [1, 2, 3, 7, 16, 50] {
            let chunks = stride(from: 0, to: bytes.count, by: size).map {
                String(decoding: bytes[$0..<min($0 + size, bytes.count)], as: UTF8.self)
            }
            #expect(try statuses(chunks) == [200, 404, 204, 503], "split every \(size) bytes")
        }
    }

    @Test func reportsConnectionClose() throws {
        var scanner = HTTPResponseScanner()
        var seen: [Bool] = []
        var buffer = ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nconnection: Close\r\nContent-Length: 0\r\n\r\n")
        try scanner.feed(&buffer) { _, closes in seen.append(closes) }
        #expect(seen == [false, true])
    }

    @Test func rejectsWhatItCannotFrame() {
        for bad in [
            "SMTP 220 hello\r\n\r\n", "HTTP/1.1 2x0 OK\r\n\r\n", "HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
            "HTTP/1.1 200 OK\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n",
        ] {
            #expect(throws: HTTPResponseScanner.ScanError.self, "\(bad)") { try statuses([bad]) }
        }
    }
}
