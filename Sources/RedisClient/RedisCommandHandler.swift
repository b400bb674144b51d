import NIOCore

/// One command on its way: its encoded bytes and the promise its reply completes.
struct RedisRequest {
    var bytes: ByteBuffer
    var promise: EventLoopPromise<RESPValue>
}

/// Pipelining on one connection: requests are written as they come and replies are
/// matched to them in order. Replies come in order, so when the oldest request passes
/// its deadline everything behind it is stuck too: every request on the connection then
/// fails with `.timeout` and the connection is closed (the pool opens a new one). This
/// also catches half-open connections that TCP alone would never report.
final class RedisCommandHandler: ChannelDuplexHandler {
    typealias InboundIn = RESPValue
    typealias OutboundIn = RedisRequest
    typealias OutboundOut = ByteBuffer

    private struct InFlight {
        var promise: EventLoopPromise<RESPValue>
        var deadline: NIODeadline
    }

    private let commandTimeout: TimeAmount
    private var inFlight = CircularBuffer<InFlight>(initialCapacity: 64)
    private var timeoutCheck: Scheduled<Void>?
    private var isActive = true

    init(commandTimeout: TimeAmount) {
        self.commandTimeout = commandTimeout
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        guard isActive else {
            request.promise.fail(RedisError.connectionClosed)
            promise?.fail(RedisError.connectionClosed)
            return
        }
        inFlight.append(InFlight(promise: request.promise, deadline: .now() + commandTimeout))
        if timeoutCheck == nil {
            scheduleTimeoutCheck(context: context)
        }
        context.write(wrapOutboundOut(request.bytes), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let reply = unwrapInboundIn(data)
        guard let request = inFlight.popFirst() else {
            context.fireErrorCaught(RedisError.protocolError("a reply arrived with no command waiting for it"))
            return
        }
        request.promise.succeed(reply)
        if inFlight.isEmpty {
            timeoutCheck?.cancel()
            timeoutCheck = nil
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(RedisError.connectionClosed)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        failAll(error as? RedisError ?? RedisError.connectionClosed)
        context.close(promise: nil)
    }

    private func failAll(_ error: RedisError) {
        isActive = false
        timeoutCheck?.cancel()
        timeoutCheck = nil
        while let request = inFlight.popFirst() {
            request.promise.fail(error)
        }
    }

    /// One timer at a time, for the oldest request: deadlines are in the same order as requests.
    private func scheduleTimeoutCheck(context: ChannelHandlerContext) {
        guard let oldest = inFlight.first else { return }
        timeoutCheck = context.eventLoop.assumeIsolated().scheduleTask(deadline: oldest.deadline) {
            self.timeoutCheck = nil
            guard let oldest = self.inFlight.first else { return }
            if oldest.deadline <= .now() {
                self.failAll(RedisError.timeout)
                context.close(promise: nil)
            } else {
                self.scheduleTimeoutCheck(context: context)
            }
        }
    }
}
