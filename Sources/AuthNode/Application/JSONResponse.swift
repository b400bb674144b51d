import AuthCore
import Hummingbird

/// Small JSON objects of string members, written straight into a buffer: the bodies of
/// `/healthz`, `/api/me` and `/api/articles` are written on every request.
struct JSONResponse {
    private var buffer = ByteBufferAllocator().buffer(capacity: 128)
    private var first = true

    init() {
        buffer.writeInteger(UInt8(ascii: "{"))
    }

    mutating func add(_ name: StaticString, _ value: String) {
        let separator = first ? 0 : 1
        first = false
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: name.utf8CodeUnitCount + 4) { output in
            if separator == 1 { output[0] = UInt8(ascii: ",") }
            output[separator] = UInt8(ascii: "\"")
            let nameStart = output.baseAddress! + separator + 1
            nameStart.copyMemory(from: name.utf8Start, byteCount: name.utf8CodeUnitCount)
            output[separator + 1 + name.utf8CodeUnitCount] = UInt8(ascii: "\"")
            output[separator + 2 + name.utf8CodeUnitCount] = UInt8(ascii: ":")
            return separator + 3 + name.utf8CodeUnitCount
        }
        Self.writeQuoted(value, into: &buffer)
    }

    var body: ByteBuffer {
        var body = buffer
        body.writeInteger(UInt8(ascii: "}"))
        return body
    }

    func response(status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: Self.headers, body: .init(byteBuffer: body))
    }

    /// With headers of its own (an error's `WWW-Authenticate` or `Retry-After`).
    func response(status: HTTPResponse.Status, headers: HTTPFields) -> Response {
        var headers = headers
        headers[.contentType] = Self.headers[.contentType]
        return Response(status: status, headers: headers, body: .init(byteBuffer: body))
    }

    /// Built once: a literal would check the field's name and value again on every response.
    static let headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]

    /// A JSON string literal (RFC 8259 escapes; control characters as \u00XX), written in one
    /// go: these bodies are written on every request, and each ByteBuffer write checks its
    /// capacity and uniqueness.
    static func writeQuoted(_ value: String, into buffer: inout ByteBuffer) {
        var value = value
        _ = value.withUTF8 { utf8 in
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: utf8.count * 6 + 2) { output in
                var written = 0
                func write(_ byte: UInt8) {
                    output[written] = byte
                    written += 1
                }
                write(UInt8(ascii: "\""))
                for byte in utf8 {
                    switch byte {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                        write(UInt8(ascii: "\\"))
                        write(byte)
                    case 0x0A:
                        write(UInt8(ascii: "\\"))
                        write(UInt8(ascii: "n"))
                    case 0x0D:
                        write(UInt8(ascii: "\\"))
                        write(UInt8(ascii: "r"))
                    case 0x09:
                        write(UInt8(ascii: "\\"))
                        write(UInt8(ascii: "t"))
                    case 0x00..<0x20:
                        for escaped in [UInt8]("\\u00".utf8) { write(escaped) }
                        write(Hex.digits[Int(byte >> 4)])
                        write(Hex.digits[Int(byte & 0x0F)])
                    default:
                        write(byte)
                    }
                }
                write(UInt8(ascii: "\""))
                return written
            }
        }
    }
}
