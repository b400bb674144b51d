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

    public init(plan: LoadPlan, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.plan = plan
        self.group = group
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
        let connectLead = TimeAmount.milliseconds(200 + 5 * Int64(plan.connections))
        let firstStart = NIODeadline.now() + connectLead
        let measureFrom = firstStart + plan.warmup
        let stopAt = measureFrom + plan.duration
        let interval = plan.rate.map { TimeAmount.nanoseconds(Int64(1e9 * Double(plan.connections) / $0)) }

        var connections: [(AuthMode, EventLoopFuture<ConnectionRecorder>)] = []
        for index in 0..<plan.connections {
            let mode = plan.modes[index % plan.modes.count]
            let indexInMode = index / plan.modes.count
            let connectionsOfMode = (plan.connections - index % plan.modes.count + plan.modes.count - 1) / plan.modes.count
            let target = plan.targets[indexInMode % plan.targets.count]
            let users = assignedUsers(logins[mode]?.users ?? [], connection: indexInMode, of: connectionsOfMode)
            let stagger = interval.map { TimeAmount.nanoseconds($0.nanoseconds * Int64(index) / Int64(plan.connections)) } ?? .zero
            let connectionPlan = LoadConnectionHandler.Plan(
                mode: mode, target: target, path: plan.path, users: users, password: plan.password,
                pacing: interval.map { .openLoop(interval: $0) } ?? .closedLoop,
                firstStart: firstStart + stagger, measureFrom: measureFrom, stopAt: stopAt)
            connections.append((mode, connect(to: target, plan: connectionPlan, on: loops[index % loops.count])))
        }

        var recorders: [AuthMode: ConnectionRecorder] = [:]
        for (mode, finished) in connections {
            let recorder = try await finished.get()
            recorders[mode, default: ConnectionRecorder()].merge(recorder)
        }
        let seconds = Double(plan.duration.nanoseconds) / 1e9
        let runs = plan.modes.map { mode in
            ModeResult(
                mode: mode, recorder: recorders[mode] ?? ConnectionRecorder(), durationSeconds: seconds,
                requestedRate: plan.rate.map { $0 * Double(connectionsOf(mode)) / Double(plan.connections) },
                loginLatency: logins[mode]?.latency, loginFailures: logins[mode]?.failures ?? [:])
        }
        return LoadResult(startedAt: startedAt, plan: plan, runs: runs)
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

    /// Connects; the returned future gives what the connection recorded once it is done.
    private func connect(to target: Target, plan: LoadConnectionHandler.Plan, on loop: any EventLoop) -> EventLoopFuture<ConnectionRecorder> {
        let finished = loop.makePromise(of: ConnectionRecorder.self)
        ClientBootstrap(group: loop)
            .connectTimeout(.seconds(3))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            // One response per readable event: a second read would only return EAGAIN.
            .channelOption(.maxMessagesPerRead, value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(LoadConnectionHandler(plan: plan, finished: finished))
                }
            }
            .connect(host: target.host, port: target.port)
            .whenFailure { error in
                var recorder = ConnectionRecorder()
                recorder.recordFailure(LoadConnectionHandler.cause(of: error), second: 0)
                finished.succeed(recorder)
            }
        return finished.futureResult
    }
}
