import Foundation
import Histogram
import NIOCore

/// A virtual user after login: the header that authenticates it and, in JWT mode, what
/// renews it.
public struct VirtualUser: Sendable {
    var username: String
    public var credential: (name: String, value: String)
    /// Headers sent with the credential (a cached session's routing header).
    var routing: [(String, String)] = []
    var refreshToken: String?
    /// Seconds the access token lives, from its login or refresh.
    var expiresIn: Int?
    /// When it was obtained (monotonic), to know when to renew it.
    var obtainedAt = NIODeadline.now()

    /// The credential and the routing headers: what each request carries.
    public var requestHeaders: [(String, String)] { [credential] + routing }

    /// When to renew it: a fifth of its life (at least 2 s) before it expires; nil when it does not expire.
    var renewAt: NIODeadline? {
        guard let expiresIn, refreshToken != nil else { return nil }
        let margin = max(2, expiresIn / 5)
        return obtainedAt + .seconds(Int64(max(expiresIn - margin, 1)))
    }
}

/// Logs the virtual users in through the targets before the measured phase.
public enum VirtualUsers {
    struct LoginFailed: Error, CustomStringConvertible {
        let description: String
    }

    struct Logins: Sendable {
        var users: [VirtualUser]
        var latency: Histogram<UInt64>
        var failures: [String: Int]
    }

    /// `count` logins of the users `<prefix>1...<prefix>U` in turn: more than U when there are
    /// more connections than users, since each connection must hold credentials of its own (two
    /// holders of one refresh token would look like theft to the node).
    static func logIn(_ plan: LoadPlan, mode: AuthMode, count: Int, group: any EventLoopGroup) async throws -> Logins {
        var logins = Logins(users: [], latency: ConnectionRecorder.makeHistogram(), failures: [:])
        try await withThrowingTaskGroup(of: (VirtualUser?, UInt64, String?).self) { tasks in
            for index in 1...count {
                if index > plan.loginConcurrency, let (user, micros, failure) = try await tasks.next() {
                    logins.record(user, micros, failure)
                }
                tasks.addTask {
                    let target = plan.targets[(index - 1) % plan.targets.count]
                    let username = "\(plan.userPrefix)\((index - 1) % plan.users + 1)"
                    let start = ContinuousClock.now
                    do {
                        let user = try await logIn(username, password: plan.password, mode: mode, at: target, group: group)
                        return (user, micros(ContinuousClock.now - start), nil)
                    } catch {
                        return (nil, 0, "\(error)")
                    }
                }
            }
            for try await (user, micros, failure) in tasks { logins.record(user, micros, failure) }
        }
        guard !logins.users.isEmpty else {
            throw LoginFailed(description: "no virtual user could log in (\(mode.rawValue)): \(logins.failures.keys.sorted().first ?? "unknown error")")
        }
        return logins
    }

    public static func logIn(_ username: String, password: String, mode: AuthMode, at target: Target, group: any EventLoopGroup) async throws -> VirtualUser {
        let body = try JSONSerialization.data(withJSONObject: ["username": username, "password": password, "mode": mode.loginMode])
        let response = try await HTTPExchange.send(
            to: target, method: .POST, path: "/auth/login", headers: [("Content-Type", "application/json")] + mode.routingHeaders,
            body: Array(body), group: group)
        guard response.status == 200 else {
            throw LoginFailed(description: "login of \(username) at \(target) answered \(response.status)")
        }
        switch mode {
        case .session, .cachedSession:
            guard let cookie = response.headers["Set-Cookie"].first(where: { $0.hasPrefix("sid=") }),
                let pair = cookie.split(separator: ";").first
            else { throw LoginFailed(description: "login of \(username) set no sid cookie") }
            return VirtualUser(username: username, credential: ("Cookie", String(pair)), routing: mode.routingHeaders)
        case .jwt:
            return try tokens(for: username, from: response, what: "login")
        case .none:
            throw LoginFailed(description: "mode none has no login")
        }
    }

    /// Rotates the user's refresh token for a new access token (and a new refresh token).
    public static func refresh(_ user: VirtualUser, at target: Target, group: any EventLoopGroup) async throws -> VirtualUser {
        guard let refreshToken = user.refreshToken else { throw LoginFailed(description: "\(user.username) has no refresh token") }
        let body = try JSONSerialization.data(withJSONObject: ["refresh_token": refreshToken])
        let response = try await HTTPExchange.send(
            to: target, method: .POST, path: "/auth/refresh", headers: [("Content-Type", "application/json")],
            body: Array(body), group: group)
        guard response.status == 200 else {
            throw LoginFailed(description: "refresh for \(user.username) at \(target) answered \(response.status)")
        }
        return try tokens(for: user.username, from: response, what: "refresh")
    }

    private static func tokens(for username: String, from response: HTTPExchange, what: String) throws -> VirtualUser {
        let json = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]
        guard let token = json?["access_token"] as? String else {
            throw LoginFailed(description: "\(what) of \(username) gave no access_token")
        }
        return VirtualUser(
            username: username, credential: ("Authorization", "Bearer \(token)"),
            refreshToken: json?["refresh_token"] as? String, expiresIn: json?["expires_in"] as? Int)
    }

    static func micros(_ duration: Duration) -> UInt64 {
        UInt64(max(duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000, 1))
    }
}

extension VirtualUsers.Logins {
    mutating func record(_ user: VirtualUser?, _ micros: UInt64, _ failure: String?) {
        if let user {
            users.append(user)
            _ = latency.record(micros)
        } else if let failure {
            failures[failure, default: 0] += 1
        }
    }
}
