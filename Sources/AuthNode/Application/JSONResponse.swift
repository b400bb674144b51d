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
        buffer.writeString(first ? "\"" : ",\"")
        first = false
        buffer.writeStaticString(name)
        buffer.writeString("\":")
        Self.writeQuoted(value, into: &buffer)
    }

    func response(status: HTTPResponse.Status = .ok) -> Response {
        var body = buffer
        body.writeInteger(UInt8(ascii: "}"))
        return Response(status: status, headers: Self.headers, body: .init(byteBuffer: body))
    }

    /// Built once: a literal would check the field's name and value again on every response.
    static let headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]

    /// A JSON string literal (RFC 8259 escapes; control characters as \u00XX).
    static func writeQuoted(_ value: String, into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "\""))
        if !value.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            buffer.writeString(value)
            buffer.writeInteger(UInt8(ascii: "\""))
            return
        }
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): buffer.writeString("\\\"")
            case UInt8(ascii: "\\"): buffer.writeString("\\\\")
            case 0x0A: buffer.writeString("\\n")
            case 0x0D: buffer.writeString("\\r")
            case 0x09: buffer.writeString("\\t")
            case 0x00..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                buffer.writeString("\\u00")
                buffer.writeInteger(hex[Int(byte >> 4)])
                buffer.writeInteger(hex[Int(byte & 0x0F)])
            default: buffer.writeInteger(byte)
            }
        }
        buffer.writeInteger(UInt8(ascii: "\""))
    }
}
