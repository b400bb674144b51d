import Crypto
import Foundation
import LoadEngine
import LoadReports
import NIOCore
import RedisClient

/// Sessions logged in before the run; at the event each is answered by every node (so a node
/// that caches sessions holds it), then deleted straight in Redis by a second client while
/// every node is polled with it, one session after the other. A node may accept a request
/// that raced the DEL; once it has refused the session, it must never accept it again, which
/// is what a node answering from a memory that missed the change would do.
struct StaleSessionProbe: Sendable {
    /// One answer of one node during a watch.
    struct Answer: Sendable {
        var sent: ContinuousClock.Instant
        var received: ContinuousClock.Instant
        var status: Int
    }

    /// Refusals a node must give before its watch ends: a few, so an accept after a refusal has
    /// room to show.
    static let refusalsToEndWatch = 5

    let sessions: [(name: String, value: String)]
    let nodes: [Target]
    let redisURL: String
    let keyPrefix: String
    let group: any EventLoopGroup
    let deadline: TimeAmount

    static func prepare(
        count: Int, user: String, password: String, nodes: [Target], cluster: any ClusterControl, group: any EventLoopGroup,
        deadline: TimeAmount
    ) async throws -> StaleSessionProbe {
        let (redisURL, keyPrefix) = try cluster.redis()
        var sessions: [(name: String, value: String)] = []
        do {
            for index in 0..<count {
                sessions.append(try await VirtualUsers.logIn(user, password: password, mode: .session, at: nodes[index % nodes.count], group: group).credential)
            }
        } catch {
            throw ScenarioRunner.Failure(description: "delete_sessions: cannot log \(user) in (seed it, e.g. users seed --count \(user.filter(\.isNumber))): \(error)")
        }
        return StaleSessionProbe(sessions: sessions, nodes: nodes, redisURL: redisURL, keyPrefix: keyPrefix, group: group, deadline: deadline)
    }

    /// The Redis key of the session a `Cookie: sid=<id>` header carries.
    func key(of cookie: (name: String, value: String)) -> String {
        let id = cookie.value.hasPrefix("sid=") ? String(cookie.value.dropFirst(4)) : cookie.value
        return keyPrefix + "sess:" + SHA256.hash(data: Array(id.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    func deleteAndWatch() async -> EventOutcome {
        let redis: RedisClient
        do {
            redis = RedisClient(configuration: try RedisConfiguration(url: redisURL))
        } catch {
            return EventOutcome(ok: false, detail: "delete_sessions: \(error)")
        }
        let outcome = await deleteAndWatch(using: redis)
        await redis.shutdown()
        return outcome
    }

    private func deleteAndWatch(using redis: RedisClient) async -> EventOutcome {
        var staleAccepts = 0
        var window: Duration = .zero
        // Per deleted session: from the DEL to the last node's first refusal.
        var refusedEverywhere: [Duration] = []
        for session in sessions {
            for (index, node) in nodes.enumerated() {
                for _ in 0..<2 {
                    let status = (try? await HTTPExchange.send(to: node, method: .GET, path: "/api/me", headers: [session], group: group, timeout: .seconds(2)))?.status
                    guard status == 200 else {
                        return EventOutcome(ok: false, detail: "delete_sessions: node \(index + 1) answered \(status.map(String.init) ?? "nothing") before the deletion")
                    }
                }
            }
            let watched = await watch(session) {
                try await Task.sleep(for: .milliseconds(20))
                let deletedAt = ContinuousClock.now
                _ = try await redis.del(key(of: session))
                return deletedAt
            }
            guard case .success(let (deletedAt, answers)) = watched else {
                if case .failure(let error) = watched { return EventOutcome(ok: false, detail: "delete_sessions: \(error)") }
                return EventOutcome(ok: false, detail: "delete_sessions failed")
            }
            var slowest: Duration = .zero
            for (index, nodeAnswers) in answers.enumerated() {
                guard let refusal = nodeAnswers.first(where: { $0.status == 401 }) else {
                    return EventOutcome(
                        ok: false,
                        detail: "node \(index + 1) did not refuse a deleted session within \(deadline.nanoseconds / 1_000_000_000) s")
                }
                slowest = max(slowest, refusal.received - deletedAt)
                staleAccepts += nodeAnswers.filter { $0.status == 200 && $0.sent > refusal.received }.count
                if let lastAccept = nodeAnswers.last(where: { $0.status == 200 }), lastAccept.sent > deletedAt {
                    window = max(window, lastAccept.sent - deletedAt)
                }
            }
            refusedEverywhere.append(slowest)
        }
        refusedEverywhere.sort()
        func percentile(_ fraction: Double) -> Duration {
            refusedEverywhere[min(refusedEverywhere.count - 1, Int((Double(refusedEverywhere.count) * fraction).rounded(.up)) - 1)]
        }
        func text(_ duration: Duration) -> String { ConsoleTable.micros(UInt64(duration.seconds * 1e6)) }
        let values = [
            Scenario.Expectation.Kind.staleAcceptsValueName(.session): Double(staleAccepts),
            Scenario.Expectation.EventMeasure.staleWindow.valueName(.session): NodeWatch.rounded(window),
            "session_refused_p50_s": NodeWatch.rounded(percentile(0.5)),
            "session_refused_p99_s": NodeWatch.rounded(percentile(0.99)),
        ]
        return EventOutcome(
            ok: true,
            detail: "\(sessions.count) session(s) deleted in Redis: refused by all \(nodes.count) nodes after p50 \(text(percentile(0.5))), "
                + "p99 \(text(percentile(0.99))), max \(text(refusedEverywhere.last ?? .zero)) from the DEL; the last accept was sent "
                + "\(text(window)) after it; \(staleAccepts) request(s) accepted after a refusal",
            values: values)
    }

    /// Polls every node with the session while `delete` runs, until each has refused it
    /// `refusalsToEndWatch` times or the deadline; returns when the DEL was sent and every answer.
    private func watch(
        _ session: (name: String, value: String), delete: @escaping @Sendable () async throws -> ContinuousClock.Instant
    ) async -> Result<(ContinuousClock.Instant, [[Answer]]), any Error> {
        let clock = ContinuousClock()
        let limit = clock.now + .nanoseconds(deadline.nanoseconds)
        return await withTaskGroup(of: (Int, Result<ContinuousClock.Instant, any Error>?, [Answer]).self) { tasks in
            for (index, node) in nodes.enumerated() {
                tasks.addTask { [group] in
                    var answers: [Answer] = []
                    var refusals = 0
                    while clock.now < limit, refusals < Self.refusalsToEndWatch {
                        let sent = clock.now
                        guard let response = try? await HTTPExchange.send(
                            to: node, method: .GET, path: "/api/me", headers: [session], group: group, timeout: .seconds(2))
                        else { continue }
                        answers.append(Answer(sent: sent, received: clock.now, status: response.status))
                        if response.status == 401 { refusals += 1 }
                    }
                    return (index, nil, answers)
                }
            }
            tasks.addTask {
                do {
                    return (-1, .success(try await delete()), [])
                } catch {
                    return (-1, .failure(error), [])
                }
            }
            var deleted: Result<ContinuousClock.Instant, any Error> = .failure(ScenarioRunner.Failure(description: "the DEL did not run"))
            var answers = [[Answer]](repeating: [], count: nodes.count)
            for await (index, deletion, nodeAnswers) in tasks {
                if let deletion { deleted = deletion } else { answers[index] = nodeAnswers }
            }
            return deleted.map { ($0, answers) }
        }
    }
}
