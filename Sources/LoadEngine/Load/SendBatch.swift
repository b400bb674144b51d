import NIOCore

/// The closed-loop requests of one event loop whose responses arrived in this turn of the
/// loop, written together once the turn's reads are done, as wrk does (it re-arms a writable
/// event and writes in the next turn). Written one by one as each response ends, every
/// request would wake the server for itself; written together, the server finds them
/// waiting. Latency still counts from each request's write.
final class SendBatch {
    private struct Waiting {
        var handler: LoadConnectionHandler
        var context: ChannelHandlerContext
    }

    private let eventLoop: any EventLoop
    private var waiting: [Waiting] = []
    private var sending: [Waiting] = []
    private var isScheduled = false

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func add(_ handler: LoadConnectionHandler, context: ChannelHandlerContext) {
        eventLoop.assertInEventLoop()
        waiting.append(Waiting(handler: handler, context: context))
        guard !isScheduled else { return }
        isScheduled = true
        eventLoop.assumeIsolated().execute { self.sendAll() }
    }

    private func sendAll() {
        isScheduled = false
        swap(&waiting, &sending)
        for entry in sending {
            entry.handler.sendWaiting(context: entry.context)
        }
        sending.removeAll(keepingCapacity: true)
    }
}
