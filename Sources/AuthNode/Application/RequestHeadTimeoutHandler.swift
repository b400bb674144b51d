import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Closes a connection whose next request head is not complete within `timeout` of the
/// connection opening or of its last response: a client trickling header bytes (slowloris)
/// keeps resetting the idle timer, never this one. Waiting on the node's own work does not count.
/// One timer per connection and timeout period, not one per request: the hot path only notes
/// when the connection started waiting.
final class RequestHeadTimeoutHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let timeout: TimeAmount
    private var timer: Scheduled<Void>?
    /// Since when the connection has been waiting for a request head; nil while one is in progress.
    private var waitingSince: NIODeadline?
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
        if case .head = unwrapInboundIn(data) {
            requestsInProgress += 1
            waitingSince = nil
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            requestsInProgress = max(0, requestsInProgress - 1)
            if requestsInProgress == 0 { startWaiting(context) }
        }
        context.write(data, promise: promise)
    }

    private func startWaiting(_ context: ChannelHandlerContext) {
        let now = NIODeadline.now()
        waitingSince = now
        if timer == nil { schedule(context, at: now + timeout) }
    }

    /// At the deadline: close if the connection has waited the whole timeout, else look again
    /// when its current wait would end.
    /// The timer runs on the channel's loop and is cancelled when the handler goes, so the
    /// context it holds is always this handler's, still in the pipeline.
    private func schedule(_ context: ChannelHandlerContext, at deadline: NIODeadline) {
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) {
            self.timer = nil
            guard let since = self.waitingSince else { return }
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
