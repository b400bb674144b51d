import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Closes a connection whose next request is not wholly received (head and body) within
/// `timeout` of the connection opening or of its last response: a client trickling header or
/// body bytes (slowloris, slow POST) keeps resetting the idle timer, never this one. Waiting
/// on the node's own work does not count. One timer per connection and timeout period, not
/// one per request: the hot path only notes instants.
final class RequestDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let timeout: TimeAmount
    private var timer: Scheduled<Void>?
    /// Since when the connection has been waiting for a request, or receiving one; nil while
    /// none is owed (a request is whole and the node is answering it).
    private var owedSince: NIODeadline?
    private var requestsInProgress = 0

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        startWaiting(context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stopTimer()
    }

    func channelInactive(context: ChannelHandlerContext) {
        stopTimer()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            requestsInProgress += 1
            // A request pipelined behind one still being answered is owed from its first byte.
            if owedSince == nil { startWaiting(context) }
        case .body:
            break
        case .end:
            owedSince = nil
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            requestsInProgress = max(0, requestsInProgress - 1)
            if requestsInProgress == 0, owedSince == nil { startWaiting(context) }
        }
        context.write(data, promise: promise)
    }

    private func startWaiting(_ context: ChannelHandlerContext) {
        let now = NIODeadline.now()
        owedSince = now
        if timer == nil { schedule(context, at: now + timeout) }
    }

    /// At the deadline: close if the request has been owed the whole timeout, else look again
    /// when the current wait would end.
    /// The timer runs on the channel's loop and is cancelled when the handler goes, so the
    /// context it holds is always this handler's, still in the pipeline.
    private func schedule(_ context: ChannelHandlerContext, at deadline: NIODeadline) {
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) {
            self.timer = nil
            guard let since = self.owedSince else { return }
            if NIODeadline.now() >= since + self.timeout {
                context.channel.close(promise: nil)
            } else {
                self.schedule(context, at: since + self.timeout)
            }
        }
    }

    private func stopTimer() {
        timer?.cancel()
        timer = nil
    }
}
