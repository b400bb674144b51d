import NIOCore
import Synchronization

/// The node's open client connections, against `--max-connections`.
final class OpenConnections: Sendable {
    let limit: Int
    private let count = Atomic<Int>(0)

    init(limit: Int) {
        self.limit = limit
    }

    /// Counts one more; false (and not counted) when that would pass the limit.
    func admit() -> Bool {
        let after = count.wrappingAdd(1, ordering: .relaxed).newValue
        if after > limit {
            count.wrappingSubtract(1, ordering: .relaxed)
            return false
        }
        return true
    }

    func release() {
        count.wrappingSubtract(1, ordering: .relaxed)
    }
}

/// Closes a connection at once when the node already has `--max-connections` open, so
/// connections held open by clients (idle, or trickling) cannot exhaust its file descriptors.
final class ConnectionLimitHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let connections: OpenConnections
    private var admitted = false

    init(connections: OpenConnections) {
        self.connections = connections
    }

    func handlerAdded(context: ChannelHandlerContext) {
        admitted = connections.admit()
        if !admitted { context.close(promise: nil) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        if admitted {
            admitted = false
            connections.release()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if admitted {
            admitted = false
            connections.release()
        }
        context.fireChannelInactive()
    }
}
