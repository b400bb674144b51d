import Foundation
import LoadEngine
import LoadReports
import NIOCore
import NIOHTTP1

/// A user logged in on the first node in both modes before the run, and an admin; at the event
/// the admin changes the user's role there, then every node is polled until the session answers
/// with the new role and the access token issued before is refused; a refresh must then carry
/// the new role.
struct RoleChangeProbe: Sendable {
    let user: String
    let role: String
    let session: (name: String, value: String)
    let tokens: VirtualUser
    let admin: (name: String, value: String)
    let nodes: [Target]
    let group: any EventLoopGroup
    let deadline: TimeAmount

    static func prepare(
        user: String, role: String, admin: String, password: String, nodes: [Target], group: any EventLoopGroup, deadline: TimeAmount
    ) async throws -> RoleChangeProbe {
        do {
            let session = try await VirtualUsers.logIn(user, password: password, mode: .session, at: nodes[0], group: group)
            let tokens = try await VirtualUsers.logIn(user, password: password, mode: .jwt, at: nodes[0], group: group)
            let adminLogin = try await VirtualUsers.logIn(admin, password: password, mode: .jwt, at: nodes[0], group: group)
            return RoleChangeProbe(
                user: user, role: role, session: session.credential, tokens: tokens, admin: adminLogin.credential, nodes: nodes,
                group: group, deadline: deadline)
        } catch {
            throw ScenarioRunner.Failure(
                description: "change_role: cannot log \(user) and the admin \(admin) in (seed them, e.g. users seed --count 1 --prefix admin --role admin): \(error)")
        }
    }

    func changeAndWatch() async -> EventOutcome {
        let start = ContinuousClock.now
        do {
            let body = try JSONSerialization.data(withJSONObject: ["role": role])
            let change = try await HTTPExchange.send(
                to: nodes[0], method: .PUT, path: "/admin/users/\(user)/role", headers: [admin, ("Content-Type", "application/json")],
                body: Array(body), group: group, timeout: .seconds(5))
            guard change.status == 200 else { return EventOutcome(ok: false, detail: "the role change of \(user) answered \(change.status)") }
        } catch {
            return EventOutcome(ok: false, detail: "the role change of \(user) failed: \(error)")
        }
        let role = self.role
        let caughtUpAt = await NodeWatch.slowest(
            watching: [(.session, session), (.jwt, tokens.credential)], nodes: nodes, group: group, from: start, deadline: deadline
        ) { mode, response in
            mode == .jwt ? response.status == 401 : response.status == 200 && Self.role(in: response) == role
        }
        var values: [String: Double] = [:]
        var parts: [String] = []
        var ok = true
        for (mode, seen) in [(AuthMode.session, "had the new role"), (.jwt, "refused the token issued before")] {
            guard let slowest = caughtUpAt[mode] ?? nil else {
                ok = false
                parts.append("\(mode): some node had not \(mode == .jwt ? "refused the old token" : "seen the new role") after \(deadline.nanoseconds / 1_000_000_000) s")
                continue
            }
            values[Scenario.Expectation.EventMeasure.demoted.valueName(mode)] = NodeWatch.rounded(slowest)
            parts.append("\(mode): all \(nodes.count) nodes \(seen) after \(ConsoleTable.micros(UInt64(slowest.seconds * 1e6)))")
        }
        do {
            let refreshed = try await VirtualUsers.refresh(tokens, at: nodes[nodes.count - 1], group: group)
            let me = try await HTTPExchange.send(to: nodes[0], method: .GET, path: "/api/me", headers: [refreshed.credential], group: group)
            let seen = Self.role(in: me) ?? "status \(me.status)"
            if seen != role { ok = false }
            parts.append("a refresh then carried \(seen)")
        } catch {
            ok = false
            parts.append("the refresh after it failed: \(error)")
        }
        return EventOutcome(ok: ok, detail: "\(user) made a \(role): " + parts.joined(separator: "; "), values: values)
    }

    static func role(in response: HTTPExchange) -> String? {
        (try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any])?["role"] as? String
    }
}
