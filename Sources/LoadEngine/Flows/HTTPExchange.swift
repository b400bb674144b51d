import NIOCore
import NIOHTTP1
import NIOPosix

/// One request and its whole response on a connection of its own: for logins and checks
/// before the measured phase, never on its hot path.
public struct HTTPExchange: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: ByteBuffer

    public static func send(
        to target: Target, method: HTTPMethod, path: String, headers: [(String, String)] = [], body: [UInt8] = [],
        group: any EventLoopGroup, timeout: TimeAmount = .seconds(10)
    ) async throws -> HTTPExchange {
        let channel = try await ClientBootstrap(group: group)
            .connectTimeout(timeout)
            .connect(host: target.host, port: target.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                }
            }
        let deadline = channel.channel.eventLoop.scheduleTask(in: timeout) { channel.channel.close(promise: nil) }
        defer { deadline.cancel() }
        return try await channel.executeThenClose { inbound, outbound in
            var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
            head.headers.add(name: "Host", value: target.authority)
            head.headers.add(name: "Content-Length", value: String(body.count))
            for (name, value) in headers { head.headers.add(name: name, value: value) }
            try await outbound.write(.head(head))
            if !body.isEmpty { try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body)))) }
            try await outbound.write(.end(nil))
            var result = HTTPExchange(status: 0, headers: [:], body: ByteBuffer())
            for try await part in inbound {
                switch part {
                case .head(let responseHead):
                    result.status = Int(responseHead.status.code)
                    result.headers = responseHead.headers
                case .body(var chunk):
                    result.body.writeBuffer(&chunk)
                case .end:
                    return result
                }
            }
            throw ChannelError.eof
        }
    }
}
