import LoadEngine
import NIOCore
import NIOHTTP1

/// How long until every node answers a credential the way an event should make it answer.
enum NodeWatch {
    /// Polls `GET /api/me` on every node with each mode's credential, every 5 ms, until
    /// `caughtUp(mode, response)`; returns for each mode the slowest node's time since `start`,
    /// or nil when some node had not caught up by `deadline`.
    static func slowest(
        watching credentials: [(mode: AuthMode, credential: (String, String))], nodes: [Target], group: any EventLoopGroup,
        from start: ContinuousClock.Instant, deadline: TimeAmount,
        until caughtUp: @escaping @Sendable (AuthMode, HTTPExchange) -> Bool
    ) async -> [AuthMode: Duration?] {
        let clock = ContinuousClock()
        let limit = start + .nanoseconds(deadline.nanoseconds)
        let times = await withTaskGroup(of: (AuthMode, Duration?).self) { tasks in
            for (mode, credential) in credentials {
                for node in nodes {
                    tasks.addTask {
                        while clock.now < limit {
                            if let response = try? await HTTPExchange.send(
                                to: node, method: .GET, path: "/api/me", headers: [credential], group: group, timeout: .seconds(2)),
                                caughtUp(mode, response)
                            {
                                return (mode, clock.now - start)
                            }
                            try? await Task.sleep(for: .milliseconds(5))
                        }
                        return (mode, nil)
                    }
                }
            }
            return await tasks.reduce(into: [AuthMode: [Duration?]]()) { $0[$1.0, default: []].append($1.1) }
        }
        return times.mapValues { nodeTimes in nodeTimes.contains { $0 == nil } ? nil : nodeTimes.compactMap { $0 }.max() }
    }

    /// Seconds to a tenth of a millisecond, as the result files keep them.
    static func rounded(_ duration: Duration) -> Double {
        (duration.seconds * 10_000).rounded() / 10_000
    }
}
