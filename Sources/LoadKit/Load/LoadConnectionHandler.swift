import NIOCore

/// How a connection paces its requests.
public enum Pacing: Sendable, Hashable {
    /// Next request as soon as the last one answered.
    case closedLoop
    /// One request every `interval`, each with an intended start; latency counts from it.
    case openLoop(interval: TimeAmount)
}

/// Drives one keep-alive connection from its event loop, as wrk does: the next request is
/// written by the handler the moment a response ends (closed loop) or at its intended time
/// (open loop), and every latency is taken on the event loop, with no task hop in between.
/// Responses are framed by `HTTPResponseScanner`, which allocates nothing per header.
final class LoadConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    struct Plan {
        var requests: [HTTPRequestBytes]
        var pacing: Pacing
        /// The first request's intended start (open loop) or send (closed loop).
        var firstStart: NIODeadline
        /// Responses to requests started before this are warm-up and not recorded.
        var measureFrom: NIODeadline
        /// No request starts at or after this.
        var stopAt: NIODeadline
    }

    private let plan: Plan
    private var scanner = HTTPResponseScanner()
    private let finished: EventLoopPromise<ConnectionRecorder>
    private var recorder = ConnectionRecorder()
    private var nextRequest = 0
    private var intendedStart: NIODeadline
    private var sentAt = NIODeadline.uptimeNanoseconds(0)
    private var inFlight = false
    private var isDone = false

    init(plan: Plan, finished: EventLoopPromise<ConnectionRecorder>) {
        self.plan = plan
        self.finished = finished
        self.intendedStart = plan.firstStart
    }

    func channelActive(context: ChannelHandlerContext) {
        scheduleNext(context: context, after: .now())
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        do {
            try scanner.feed(&bytes) { status in
                responseEnded(status: status, context: context)
            }
        } catch {
            fail(cause: "malformed response", context: context)
            context.close(promise: nil)
        }
    }

    private func responseEnded(status: Int, context: ChannelHandlerContext) {
        let now = NIODeadline.now()
        inFlight = false
        if intendedStart >= plan.measureFrom {
            recorder.recordResponse(
                status: status,
                latencyMicros: Self.micros(now - intendedStart),
                uncorrectedMicros: Self.micros(now - sentAt),
                second: second(of: intendedStart),
                isError: !(200..<400).contains(status))
        }
        advance()
        scheduleNext(context: context, after: now)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        fail(cause: Self.cause(of: error), context: context)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(cause: "connection closed", context: context)
        context.fireChannelInactive()
    }

    private func fail(cause: String, context: ChannelHandlerContext) {
        guard !isDone else { return }
        if inFlight, intendedStart >= plan.measureFrom, intendedStart < plan.stopAt {
            recorder.recordFailure(cause, second: second(of: intendedStart))
        }
        finish()
    }

    private func advance() {
        switch plan.pacing {
        case .closedLoop: break
        case .openLoop(let interval): intendedStart = intendedStart + interval
        }
    }

    private func scheduleNext(context: ChannelHandlerContext, after now: NIODeadline) {
        switch plan.pacing {
        case .closedLoop:
            intendedStart = max(now, plan.firstStart)
        case .openLoop:
            break
        }
        guard intendedStart < plan.stopAt else {
            finish()
            context.close(promise: nil)
            return
        }
        if intendedStart <= now {
            if case .openLoop = plan.pacing, now - intendedStart > .milliseconds(1), intendedStart >= plan.measureFrom {
                recorder.lateSends += 1
            }
            send(context: context)
        } else {
            context.eventLoop.assumeIsolated().scheduleTask(deadline: intendedStart) {
                guard !self.isDone, context.channel.isActive else { return }
                self.send(context: context)
            }
        }
    }

    private func send(context: ChannelHandlerContext) {
        let request = plan.requests[nextRequest]
        nextRequest = nextRequest + 1 == plan.requests.count ? 0 : nextRequest + 1
        inFlight = true
        sentAt = .now()
        if case .closedLoop = plan.pacing {
            intendedStart = sentAt
        }
        context.writeAndFlush(NIOAny(request.bytes), promise: nil)
    }

    private func finish() {
        guard !isDone else { return }
        isDone = true
        finished.succeed(recorder)
    }

    private func second(of deadline: NIODeadline) -> Int {
        Int((deadline - plan.measureFrom).nanoseconds / 1_000_000_000)
    }

    static func micros(_ amount: TimeAmount) -> UInt64 {
        UInt64(max(amount.nanoseconds / 1_000, 1))
    }

    static func cause(of error: Error) -> String {
        let text = "\(error)".lowercased()
        if text.contains("refused") { return "connection refused" }
        if text.contains("reset") { return "connection reset" }
        if text.contains("timeout") || text.contains("timed out") { return "timeout" }
        return "connection error"
    }
}
