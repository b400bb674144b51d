import NIOCore

/// A request written once into bytes and sent as they are, like wrk does: the hot loop
/// copies no header and formats nothing.
public struct HTTPRequestBytes: Sendable {
    public let bytes: ByteBuffer

    public init(method: String = "GET", path: String, authority: String, headers: [(String, String)] = [], body: [UInt8] = []) {
        var buffer = ByteBuffer()
        buffer.writeString("\(method) \(path) HTTP/1.1\r\nHost: \(authority)\r\nUser-Agent: authbench-load\r\n")
        for (name, value) in headers {
            buffer.writeString("\(name): \(value)\r\n")
        }
        if !body.isEmpty || method == "POST" || method == "PUT" {
            buffer.writeString("Content-Length: \(body.count)\r\n")
        }
        buffer.writeString("\r\n")
        buffer.writeBytes(body)
        self.bytes = buffer
    }
}
