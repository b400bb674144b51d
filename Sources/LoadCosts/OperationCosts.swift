import Foundation
import LoadEngine
import NIOCore
import RedisClient

/// Logins, refreshes and logouts through one target, each kind measured on its own: `count`
/// session logins, `count` JWT logins, a refresh of each of those tokens, then a logout of
/// every session and every token, `concurrency` at a time.
public struct OperationCosts: Sendable {
    public var target: Target
    public var userPrefix: String
    public var users: Int
    public var password: String
    public var count: Int
    public var concurrency: Int
    public var meter: any ResourceMeter
    /// For the revocation list's size; nil to leave it out.
    public var redis: RedisClient?
    public var revocationListKey: String
    public var group: any EventLoopGroup

    public init(
        target: Target, userPrefix: String, users: Int, password: String, count: Int, concurrency: Int = 8,
        meter: any ResourceMeter, redis: RedisClient?, revocationListKey: String = "ab:revoked", group: any EventLoopGroup
    ) {
        self.target = target
        self.userPrefix = userPrefix
        self.users = users
        self.password = password
        self.count = count
        self.concurrency = concurrency
        self.meter = meter
        self.redis = redis
        self.revocationListKey = revocationListKey
        self.group = group
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public func measure(note: @Sendable (String) -> Void = { _ in }) async throws -> [OperationCost] {
        let target = self.target, password = self.password, group = self.group
        var costs: [OperationCost] = []
        var held: [AuthMode: [VirtualUser]] = [:]
        for mode in [AuthMode.session, .jwt] {
            note("\(count) \(mode.rawValue) logins")
            let usernames = (0..<count).map { "\(userPrefix)\($0 % users + 1)" }
            let (loggedIn, cost) = try await measured("login", mode, inputs: usernames) { username in
                try await VirtualUsers.logIn(username, password: password, mode: mode, at: target, group: group)
            }
            held[mode] = loggedIn
            costs.append(cost)
        }
        note("\(held[.jwt]?.count ?? 0) refreshes")
        let (refreshed, refreshCost) = try await measured("refresh", .jwt, inputs: held[.jwt] ?? []) { user in
            try await VirtualUsers.refresh(user, at: target, group: group)
        }
        held[.jwt] = refreshed
        costs.append(refreshCost)
        for mode in [AuthMode.session, .jwt] {
            note("\(held[mode]?.count ?? 0) \(mode.rawValue) logouts")
            let listBefore = try await revocationListBytes()
            var (_, cost) = try await measured("logout", mode, inputs: held[mode] ?? []) { user in
                let response = try await HTTPExchange.send(
                    to: target, method: .POST, path: "/auth/logout", headers: [user.credential, ("Content-Type", "application/json")], group: group)
                guard response.status == 204 else { throw Failure(description: "logout answered \(response.status)") }
            }
            if mode == .jwt, let before = listBefore, let after = try await revocationListBytes() {
                cost.revocation_list_bytes = after - before
            }
            costs.append(cost)
        }
        return costs
    }

    /// Runs `operation` on every input, `concurrency` at a time, between two samples.
    private func measured<Input: Sendable, Output: Sendable>(
        _ name: String, _ mode: AuthMode, inputs: [Input], _ operation: @escaping @Sendable (Input) async throws -> Output
    ) async throws -> ([Output], OperationCost) {
        let start = try await meter.sample()
        let started = ContinuousClock.now
        var outputs: [Output] = []
        var failures = 0
        await withTaskGroup(of: Output?.self) { tasks in
            for (index, input) in inputs.enumerated() {
                if index >= concurrency, let finished = await tasks.next() {
                    if let finished { outputs.append(finished) } else { failures += 1 }
                }
                tasks.addTask { try? await operation(input) }
            }
            for await finished in tasks {
                if let finished { outputs.append(finished) } else { failures += 1 }
            }
        }
        let elapsed = ContinuousClock.now - started
        let end = try await meter.sample()
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        guard !outputs.isEmpty || inputs.isEmpty else {
            throw Failure(description: "every \(mode.rawValue) \(name) through \(target) failed")
        }
        return (outputs, OperationCost(
            operation: name, mode: mode, count: outputs.count, failures: failures,
            resources: ResourceUse(from: start, to: end, seconds: seconds)))
    }

    private func revocationListBytes() async throws -> Int? {
        guard let redis else { return nil }
        let reply = try await redis.send(RedisCommand("MEMORY", "USAGE", revocationListKey, "SAMPLES", "0"))
        return reply.integer.map(Int.init) ?? 0
    }
}
