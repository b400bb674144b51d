import NIOCore
import NIOPosix
import Synchronization

/// A bare HTTP/1.1 server on a fixed loopback port that closes each connection after
/// `requestsPerConnection` responses (as nginx's keepalive_requests does), and can be stopped
/// and started again on the same port, as a node that dies and comes back.
final class FlakyServer: Sendable {
    let port: Int
    let requestsPerConnection: Int
    private let channels = Mutex<(server: Channel?, children: [Channel])>((nil, []))
    /// Every byte read and written on its connections, and the responses written.
    let traffic = Mutex<(received: Int, sent: Int, responses: Int)>((0, 0, 0))

    init(port: Int, requestsPerConnection: Int) {
        self.port = port
        self.requestsPerConnection = requestsPerConnection
    }

    func start() async throws {
        let limit = requestsPerConnection
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { [self] channel in
                self.channels.withLock { $0.children.append(channel) }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Responder(limit: limit, traffic: self))
                }
            }
            .bind(host: "127.0.0.1", port: port).get()
        channels.withLock { $0.server = server }
    }

    /// Closes the listener and every open connection: requests in flight are reset.
    func stop() async {
        let (server, children) = channels.withLock { state in
            let taken = state
            state = (nil, [])
            return taken
        }
        try? await server?.close()
        for child in children { try? await child.close() }
    }

    private final class Responder: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        let limit: Int
        let server: FlakyServer
        var answered = 0
        var pending: [UInt8] = []

        init(limit: Int, traffic server: FlakyServer) {
            self.limit = limit
            self.server = server
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let bytes = unwrapInboundIn(data)
            server.traffic.withLock { $0.received += bytes.readableBytes }
            pending += Array(bytes.readableBytesView)
            while let end = pending.firstRange(of: Array("\r\n\r\n".utf8)) {
                pending.removeSubrange(..<end.upperBound)
                answered += 1
                let last = answered >= limit
                let response = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n" + (last ? "Connection: close\r\n" : "") + "\r\nok"
                server.traffic.withLock {
                    $0.sent += response.utf8.count
                    $0.responses += 1
                }
                context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: response)), promise: nil)
                if last {
                    context.close(promise: nil)
                    return
                }
            }
        }
    }
}
