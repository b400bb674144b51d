import NIOCore

/// How a connection paces its requests.
public enum Pacing: Sendable, Hashable {
    /// Next request as soon as the last one answered.
    case closedLoop
    /// One request every `interval`, each with an intended start; latency counts from it.
    case openLoop(interval: TimeAmount)
}

/// Drives one keep-alive connection from its event loop, as wrk does: the next request is
/// written by the handler once a response ends (closed loop; through the loop's `SendBatch`,
/// at the end of the loop's turn) or at its intended time (open loop), and every latency is taken
/// on the event loop, with no task hop in between.
/// Responses are framed by `HTTPResponseScanner`, which allocates nothing per header.
final class LoadConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    struct Plan {
        var mode: AuthMode
        var target: Target
        var path: String
        /// The virtual users this connection sends for, in turn; none in mode `none`.
        var users: [VirtualUser]
        var password: String
        var pacing: Pacing
        /// The first request's intended start (open loop) or send (closed loop).
        var firstStart: NIODeadline
        /// Responses to requests started before this are warm-up and not recorded.
        var measureFrom: NIODeadline
        /// No request starts at or after this.
        var stopAt: NIODeadline
        var progress: LiveProgress?
        /// Where closed-loop requests wait for the end of the loop's turn (one per event loop).
        var sendBatch: NIOLoopBoundBox<SendBatch>
    }

    private let plan: Plan
    private var scanner = HTTPResponseScanner()
    private let finished: EventLoopPromise<Outcome>

    /// How a connection's run ended, and what the next connection continues from.
    struct Outcome: Sendable {
        var recorder: ConnectionRecorder
        /// True when the connection ended before the plan's stop (closed by the server, reset).
        var endedEarly: Bool
        /// The next request's intended start (open loop).
        var nextStart: NIODeadline
        /// The users with their latest credentials.
        var users: [VirtualUser]
        var cause: String
        /// False when the connection could not be made at all.
        var connected = true
        /// True when it ended with no request in flight: a server closing a keep-alive
        /// connection, not an outage.
        var graceful = false
    }
    private var recorder = ConnectionRecorder()
    private var slots: [UserSlot]
    private var nextSlot = 0
    private var currentSlot = 0
    private var intendedStart: NIODeadline
    private var sentAt = NIODeadline.uptimeNanoseconds(0)
    private var inFlight = false
    private var isDone = false
    /// The in-flight request's size, and what has arrived of its response so far.
    private var requestBytes = 0
    private var responseBytes = 0

    /// One virtual user's request, kept current by refreshes and re-logins.
    private struct UserSlot {
        var user: VirtualUser?
        var request: HTTPRequestBytes
        var renewing = false
        /// Logging in again: its credential is dead, so it sends nothing meanwhile.
        var reloggingIn = false
    }

    init(plan: Plan, finished: EventLoopPromise<Outcome>) {
        self.plan = plan
        let authority = plan.target.authority
        if plan.users.isEmpty {
            slots = [UserSlot(user: nil, request: HTTPRequestBytes(path: plan.path, authority: authority))]
        } else {
            slots = plan.users.map { user in
                UserSlot(user: user, request: HTTPRequestBytes(path: plan.path, authority: authority, headers: user.requestHeaders))
            }
        }
        self.finished = finished
        self.intendedStart = plan.firstStart
    }

    func channelActive(context: ChannelHandlerContext) {
        handOverProgress(context: context)
        scheduleNext(context: context, after: .now())
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        responseBytes += bytes.readableBytes
        do {
            try scanner.feed(&bytes) { status, closes in
                responseEnded(status: status, closes: closes, context: context)
            }
        } catch {
            fail(cause: "malformed response", context: context)
            context.close(promise: nil)
        }
    }

    private func responseEnded(status: Int, closes: Bool, context: ChannelHandlerContext) {
        let now = NIODeadline.now()
        inFlight = false
        if intendedStart >= plan.measureFrom {
            let latency = Self.micros(now - intendedStart)
            let isError = !(200..<400).contains(status)
            recorder.recordResponse(
                status: status, latencyMicros: latency, uncorrectedMicros: Self.micros(now - sentAt),
                second: second(of: intendedStart), isError: isError)
            recorder.recordBytes(sent: requestBytes, received: responseBytes)
            if plan.progress != nil {
                progressRequests += 1
                if isError { progressErrors += 1 }
                _ = progressWindow.record(latency)
            }
        }
        if status == 401, plan.mode != .none, !slots[currentSlot].renewing {
            renew(currentSlot, byLogin: true, context: context)
        }
        advance()
        if closes {
            // The server said this is the last response here: a new connection carries on.
            finish(endedEarly: true, cause: "connection closed", graceful: true)
            context.close(promise: nil)
            return
        }
        if case .closedLoop = plan.pacing, now >= plan.firstStart {
            plan.sendBatch.value.add(self, context: context)
            return
        }
        scheduleNext(context: context, after: now)
    }

    /// The batch's turn came: the request that waited for it is written now.
    func sendWaiting(context: ChannelHandlerContext) {
        guard !isDone else { return }
        scheduleNext(context: context, after: .now())
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
            plan.progress?.countError()
        }
        let graceful = !inFlight
        if inFlight { advance() }
        finish(endedEarly: true, cause: cause, graceful: graceful)
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
        guard let index = nextUsableSlot() else {
            // Every user of this connection is logging in again: try once they may be back.
            context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(5)) {
                guard !self.isDone, context.channel.isActive else { return }
                self.send(context: context)
            }
            return
        }
        currentSlot = index
        if !slots[index].renewing, let renewAt = slots[index].user?.renewAt, renewAt <= .now() {
            renew(index, byLogin: false, context: context)
        }
        let request = slots[index].request
        inFlight = true
        sentAt = .now()
        requestBytes = request.bytes.readableBytes
        responseBytes = 0
        if case .closedLoop = plan.pacing {
            intendedStart = sentAt
        }
        context.writeAndFlush(NIOAny(request.bytes), promise: nil)
    }

    /// The next slot in turn that can send: one whose token is being refreshed still can
    /// (the token is valid until it expires); one logging in again cannot.
    private func nextUsableSlot() -> Int? {
        for offset in 0..<slots.count {
            let index = (nextSlot + offset) % slots.count
            if !slots[index].reloggingIn {
                nextSlot = index + 1 == slots.count ? 0 : index + 1
                return index
            }
        }
        return nil
    }

    /// Latencies, responses and errors since the last hand-over to the progress line.
    private var progressWindow = LiveProgress.makeWindow()
    private var progressRequests = 0
    private var progressErrors = 0
    private var progressTimer: Scheduled<Void>?

    /// Refreshes the user's access token (rotating its refresh token) or logs it in again,
    /// on this connection's event loop; requests keep going for the other users meanwhile.
    private func renew(_ index: Int, byLogin: Bool, context: ChannelHandlerContext) {
        guard let user = slots[index].user else { return }
        slots[index].renewing = true
        if byLogin { slots[index].reloggingIn = true }
        let plan = self.plan
        let loop = context.eventLoop
        let started = NIODeadline.now()
        let renewal = loop.makeFutureWithTask {
            if byLogin {
                return try await VirtualUsers.logIn(user.username, password: plan.password, mode: plan.mode, at: plan.target, group: loop)
            }
            return try await VirtualUsers.refresh(user, at: plan.target, group: loop)
        }
        renewal.assumeIsolated().whenComplete { result in
            self.slots[index].renewing = false
            self.slots[index].reloggingIn = false
            guard !self.isDone else { return }
            switch result {
            case .success(let renewed):
                let micros = Self.micros(.now() - started)
                _ = byLogin ? self.recorder.reloginLatency.record(micros) : self.recorder.refreshLatency.record(micros)
                self.slots[index].user = renewed
                self.slots[index].request = HTTPRequestBytes(
                    path: plan.path, authority: plan.target.authority, headers: renewed.requestHeaders)
            case .failure:
                self.recorder.renewalFailures += 1
                if !byLogin {
                    // A refresh token that no longer works (revoked, spent): log in again.
                    self.renew(index, byLogin: true, context: context)
                }
            }
        }
    }

    /// Every half second, the latencies since the last time go to the progress line.
    private func handOverProgress(context: ChannelHandlerContext) {
        guard let progress = plan.progress, !isDone else { return }
        progressTimer = context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(500)) {
            self.flushProgress(progress)
            self.handOverProgress(context: context)
        }
    }

    private func flushProgress(_ progress: LiveProgress) {
        progress.merge(progressWindow)
        progress.add(requests: progressRequests, errors: progressErrors)
        progressWindow = LiveProgress.makeWindow()
        progressRequests = 0
        progressErrors = 0
    }

    private func finish(endedEarly: Bool = false, cause: String = "", graceful: Bool = false) {
        guard !isDone else { return }
        isDone = true
        progressTimer?.cancel()
        if let progress = plan.progress { flushProgress(progress) }
        finished.succeed(Outcome(
            recorder: recorder, endedEarly: endedEarly, nextStart: intendedStart,
            users: slots.compactMap(\.user), cause: cause, graceful: graceful))
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
