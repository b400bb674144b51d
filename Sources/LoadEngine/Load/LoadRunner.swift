import Foundation
import Histogram
import NIOCore
import NIOHTTP1
import NIOPosix

/// Runs a plan: checks the targets, logs the virtual users in, then drives every
/// connection from its event loop through warm-up and the measured phase.
public struct LoadRunner: Sendable {
    public let plan: LoadPlan
    public let group: any EventLoopGroup
    /// Live counts for a progress line; nil for none.
    public let progress: LiveProgress?
    /// Actions at given times of the measured phase (stages end to end), while the load runs.
    public let events: [TimedEvent]
    /// Sampled as each stage's measured phase starts and once its connections have stopped; nil for none.
    public let meter: (any ResourceMeter)?

    public init(
        plan: LoadPlan, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, progress: LiveProgress? = nil,
        events: [TimedEvent] = [], meter: (any ResourceMeter)? = nil
    ) {
        self.plan = plan
        self.group = group
        self.progress = progress
        self.events = events.sorted { $0.at < $1.at }
        self.meter = meter
    }

    /// The meter's sample at `moment`; nil without a meter or when sampling failed.
    private func sample(at moment: NIODeadline) async -> (ResourceSample, NIODeadline)? {
        guard let meter else { return nil }
        try? await Task.sleep(for: .nanoseconds((moment - .now()).nanoseconds))
        let taken = NIODeadline.now()
        return (try? await meter.sample()).map { ($0, taken) }
    }

    public struct TimedEvent: Sendable {
        public var at: TimeAmount
        public var name: String
        /// Does the thing; says whether it worked and what it saw.
        public var perform: @Sendable () async -> EventOutcome

        public init(at: TimeAmount, name: String, perform: @escaping @Sendable () async -> EventOutcome) {
            self.at = at
            self.name = name
            self.perform = perform
        }
    }

    /// The stage's `due` events, each at its own moment after `measureFrom`, whether or not an
    /// earlier one is still going (a watch that lasts until a later event must not hold it up);
    /// `offset` is where this stage starts in the measured time. Records come in the events' order.
    private func perform(_ due: [TimedEvent], measureFrom: NIODeadline, offset: TimeAmount) async -> [EventRecord] {
        await withTaskGroup(of: (Int, EventRecord).self) { tasks in
            for (index, event) in due.enumerated() {
                tasks.addTask {
                    let wait = measureFrom + (event.at - offset) - NIODeadline.now()
                    if wait > .zero { try? await Task.sleep(for: .nanoseconds(wait.nanoseconds)) }
                    let startedAt = Double((NIODeadline.now() - measureFrom + offset).nanoseconds) / 1e9
                    let outcome = await event.perform()
                    return (index, EventRecord(
                        at_s: (startedAt * 1000).rounded() / 1000, name: event.name, ok: outcome.ok, detail: outcome.detail,
                        values: outcome.values.isEmpty ? nil : outcome.values))
                }
            }
            return await tasks.reduce(into: [(Int, EventRecord)]()) { $0.append($1) }.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }

    public struct Unreachable: Error, CustomStringConvertible {
        public let description: String
    }

    /// A TCP connect to every target, so a wrong URL fails before any load starts.
    public func checkTargets() async throws {
        for target in plan.targets {
            do {
                let channel = try await ClientBootstrap(group: group).connectTimeout(.seconds(3))
                    .connect(host: target.host, port: target.port).get()
                try await channel.close()
            } catch {
                throw Unreachable(description: "target \(target) is unreachable: \(LoadConnectionHandler.cause(of: error))")
            }
        }
    }

    public func run() async throws -> LoadResult {
        try plan.validate()
        try await checkTargets()
        let startedAt = Date()

        var logins: [AuthMode: VirtualUsers.Logins] = [:]
        for mode in plan.modes where mode != .none {
            logins[mode] = try await VirtualUsers.logIn(plan, mode: mode, count: max(plan.users, connectionsOf(mode)), group: group)
        }

        let loops = Array(group.makeIterator())
        let sendBatches = loops.map { loop in NIOLoopBoundBox.makeBoxSendingValue(SendBatch(eventLoop: loop), eventLoop: loop) }
        var usersByConnection: [[VirtualUser]] = (0..<plan.connections).map { index in
            let mode = plan.modes[index % plan.modes.count]
            return assignedUsers(
                logins[mode]?.users ?? [], connection: index / plan.modes.count, of: connectionsOf(mode))
        }
        var runs: [ModeResult] = []
        var eventRecords: [EventRecord] = []
        var stageOffset = TimeAmount.zero
        for (stageIndex, stage) in plan.schedule.enumerated() {
            let warmup = stageIndex == 0 ? plan.warmup : .zero
            let connectLead = TimeAmount.milliseconds(200 + 5 * Int64(plan.connections))
            let firstStart = NIODeadline.now() + connectLead
            let measureFrom = firstStart + warmup
            let stopAt = measureFrom + stage.duration
            let interval = stage.rate.map { TimeAmount.nanoseconds(Int64(1e9 * Double(plan.connections) / $0)) }
            let stageEnd = stageOffset + stage.duration
            let isLast = stageIndex == plan.schedule.count - 1
            let due = events.filter { $0.at >= stageOffset && ($0.at < stageEnd || isLast) }
            async let stageEvents = perform(due, measureFrom: measureFrom, offset: stageOffset)
            async let windowStart = sample(at: measureFrom)

            let outcomes = await withTaskGroup(of: (Int, ConnectionRecorder, [VirtualUser]).self) { drivers in
                for index in 0..<plan.connections {
                    let mode = plan.modes[index % plan.modes.count]
                    let target = plan.targets[(index / plan.modes.count) % plan.targets.count]
                    let stagger = interval.map { TimeAmount.nanoseconds($0.nanoseconds * Int64(index) / Int64(plan.connections)) } ?? .zero
                    let connectionPlan = LoadConnectionHandler.Plan(
                        mode: mode, target: target, path: plan.path, users: usersByConnection[index], password: plan.password,
                        pacing: interval.map { .openLoop(interval: $0) } ?? .closedLoop,
                        firstStart: firstStart + stagger, measureFrom: measureFrom, stopAt: stopAt, progress: progress,
                        sendBatch: sendBatches[index % loops.count])
                    let loop = loops[index % loops.count]
                    drivers.addTask {
                        let (recorder, users) = await self.drive(connectionPlan, to: target, on: loop)
                        return (index, recorder, users)
                    }
                }
                return await drivers.reduce(into: [(Int, ConnectionRecorder, [VirtualUser])]()) { $0.append($1) }
            }
            eventRecords += await stageEvents
            // Taken once every connection has stopped: the work of each recorded request is in it.
            var resources: ResourceUse?
            if let (start, startedAt) = await windowStart, let end = await sample(at: .now()) {
                resources = ResourceUse(from: start, to: end.0, seconds: Double((end.1 - startedAt).nanoseconds) / 1e9)
            }
            stageOffset = stageEnd
            var recorders: [AuthMode: ConnectionRecorder] = [:]
            for (index, recorder, users) in outcomes {
                recorders[plan.modes[index % plan.modes.count], default: ConnectionRecorder()].merge(recorder)
                usersByConnection[index] = users
            }
            let seconds = Double(stage.duration.nanoseconds) / 1e9
            runs += plan.modes.map { mode in
                ModeResult(
                    mode: mode, stage: plan.stages == nil ? nil : stageIndex + 1, recorder: recorders[mode] ?? ConnectionRecorder(),
                    durationSeconds: seconds,
                    requestedRate: stage.rate.map { $0 * Double(connectionsOf(mode)) / Double(plan.connections) },
                    loginLatency: stageIndex == 0 ? logins[mode]?.latency : nil,
                    loginFailures: stageIndex == 0 ? logins[mode]?.failures ?? [:] : [:], resources: resources)
            }
        }
        return LoadResult(startedAt: startedAt, plan: plan, runs: runs, events: eventRecords)
    }

    private func connectionsOf(_ mode: AuthMode) -> Int {
        let position = plan.modes.firstIndex(of: mode) ?? 0
        return (plan.connections - position + plan.modes.count - 1) / plan.modes.count
    }

    /// The logins one connection sends for, in turn: its own share, never another's. A
    /// connection left with none (some logins failed) borrows one without renewing it.
    private func assignedUsers(_ users: [VirtualUser], connection: Int, of connectionsOfMode: Int) -> [VirtualUser] {
        guard !users.isEmpty else { return [] }
        let assigned = stride(from: connection, to: users.count, by: connectionsOfMode).map { users[$0] }
        if assigned.isEmpty {
            var borrowed = users[connection % users.count]
            borrowed.refreshToken = nil
            return [borrowed]
        }
        return assigned
    }

    /// Runs one connection's share of the plan to its end: when the server closes the
    /// connection (keep-alive limits, idle timeouts) or the target dies, it connects again,
    /// with backoff while connecting fails, and carries on with the schedule and the users'
    /// latest credentials. After an outage (a reset, a failed connect), every open-loop request
    /// whose intended start passed without a connection counts as an error at its own second;
    /// after a graceful close they are only late, which the corrected latency shows.
    private func drive(_ plan: LoadConnectionHandler.Plan, to target: Target, on loop: any EventLoop) async -> (ConnectionRecorder, [VirtualUser]) {
        var plan = plan
        var total = ConnectionRecorder()
        var failedConnects = 0
        while true {
            let outcome = await connect(to: target, plan: plan, on: loop)
            total.merge(outcome.recorder)
            plan.users = outcome.users.isEmpty ? plan.users : outcome.users
            guard outcome.endedEarly else { return (total, plan.users) }
            plan.firstStart = outcome.nextStart
            failedConnects = outcome.connected ? 0 : failedConnects + 1
            if failedConnects > 0 {
                let backoff = TimeAmount.milliseconds(min(1_000, 50 << min(failedConnects - 1, 5)))
                try? await Task.sleep(for: .nanoseconds(backoff.nanoseconds))
            }
            let now = NIODeadline.now()
            switch plan.pacing {
            case .closedLoop:
                guard now < plan.stopAt else { return (total, plan.users) }
            case .openLoop(let interval):
                // Every intended start before the stop is sent or counted, also once the stop has
                // passed: a connection that lags behind its schedule when the server closes it
                // carries on late, as it would have without the close.
                if !outcome.graceful {
                    while plan.firstStart < now, plan.firstStart < plan.stopAt {
                        if plan.firstStart >= plan.measureFrom {
                            let second = Int((plan.firstStart - plan.measureFrom).nanoseconds / 1_000_000_000)
                            total.recordFailure(outcome.cause.isEmpty ? "connection closed" : outcome.cause, second: second)
                            plan.progress?.countError()
                        }
                        plan.firstStart = plan.firstStart + interval
                    }
                }
                guard plan.firstStart < plan.stopAt else { return (total, plan.users) }
            }
        }
    }

    /// One connection until it ends; a connect that fails ends it at once, early.
    private func connect(to target: Target, plan: LoadConnectionHandler.Plan, on loop: any EventLoop) async -> LoadConnectionHandler.Outcome {
        let finished = loop.makePromise(of: LoadConnectionHandler.Outcome.self)
        ClientBootstrap(group: loop)
            .connectTimeout(.seconds(3))
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            // One response per readable event: a second read would only return EAGAIN.
            .channelOption(.maxMessagesPerRead, value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(LoadConnectionHandler(plan: plan, finished: finished))
                }
            }
            .connect(host: target.host, port: target.port)
            .whenFailure { error in
                let cause = LoadConnectionHandler.cause(of: error)
                var recorder = ConnectionRecorder()
                let now = NIODeadline.now()
                // An open loop counts the requests this outage misses; a closed loop, each attempt.
                if case .closedLoop = plan.pacing, now >= plan.measureFrom, now < plan.stopAt {
                    recorder.recordFailure(cause, second: Int((now - plan.measureFrom).nanoseconds / 1_000_000_000))
                    plan.progress?.countError()
                }
                finished.succeed(.init(
                    recorder: recorder, endedEarly: true, nextStart: plan.firstStart, users: plan.users, cause: cause,
                    connected: false))
            }
        return (try? await finished.futureResult.get())
            ?? .init(recorder: ConnectionRecorder(), endedEarly: false, nextStart: plan.stopAt, users: [], cause: "")
    }
}
