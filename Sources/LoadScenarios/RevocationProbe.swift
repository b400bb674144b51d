import Foundation
import LoadEngine
import LoadReports
import NIOCore
import NIOHTTP1
import Synchronization

/// A user logged in on the first node in both modes before the run; at the event, logout-all
/// there, then every node polled with both credentials until it refuses them (any answer but
/// 200: a node whose revocation list is stale answers 503), counting the requests still
/// accepted after logout-all answered.
struct RevocationProbe: Sendable {
    /// Requests with the revoked credential that a node still answered 200, by mode.
    final class Accepted: Sendable {
        let counts = Mutex<[AuthMode: Int]>([:])
    }

    let user: String
    let session: (name: String, value: String)
    let token: (name: String, value: String)
    let nodes: [Target]
    let group: any EventLoopGroup
    let deadline: TimeAmount

    static func prepare(user: String, password: String, nodes: [Target], group: any EventLoopGroup, deadline: TimeAmount) async throws -> RevocationProbe {
        do {
            let session = try await VirtualUsers.logIn(user, password: password, mode: .session, at: nodes[0], group: group)
            let token = try await VirtualUsers.logIn(user, password: password, mode: .jwt, at: nodes[0], group: group)
            return RevocationProbe(user: user, session: session.credential, token: token.credential, nodes: nodes, group: group, deadline: deadline)
        } catch {
            throw ScenarioRunner.Failure(description: "revoke_user: cannot log \(user) in to watch the revocation (seed it, e.g. users seed --count \(user.filter(\.isNumber))): \(error)")
        }
    }

    func revokeAndWatch() async -> EventOutcome {
        let clock = ContinuousClock()
        let start = clock.now
        do {
            let logout = try await HTTPExchange.send(
                to: nodes[0], method: .POST, path: "/auth/logout-all", headers: [token, ("Content-Type", "application/json")], group: group,
                timeout: .seconds(5))
            guard logout.status == 204 else { return EventOutcome(ok: false, detail: "logout-all of \(user) answered \(logout.status)") }
        } catch {
            return EventOutcome(ok: false, detail: "logout-all of \(user) failed: \(error)")
        }
        let accepted = Accepted()
        let refusedAt = await NodeWatch.slowest(
            watching: [(.session, session), (.jwt, token)], nodes: nodes, group: group, from: start, deadline: deadline
        ) { [accepted] mode, response in
            guard response.status == 200 else { return true }
            accepted.counts.withLock { $0[mode, default: 0] += 1 }
            return false
        }
        var values: [String: Double] = [:]
        var parts: [String] = []
        var ok = true
        for mode in [AuthMode.session, .jwt] {
            guard let slowest = refusedAt[mode] ?? nil else {
                ok = false
                parts.append("\(mode) still accepted by some node after \(deadline.nanoseconds / 1_000_000_000) s")
                continue
            }
            let stillAccepted = accepted.counts.withLock { $0[mode] ?? 0 }
            values[Scenario.Expectation.EventMeasure.revoked.valueName(mode)] = NodeWatch.rounded(slowest)
            values["\(mode.rawValue)_accepted_after_revocation"] = Double(stillAccepted)
            parts.append("\(mode) refused by all \(nodes.count) nodes after \(ConsoleTable.micros(UInt64(slowest.seconds * 1e6)))"
                + " (\(stillAccepted) request(s) accepted after logout-all answered)")
        }
        return EventOutcome(ok: ok, detail: "logout-all of \(user): " + parts.joined(separator: "; "), values: values)
    }
}
