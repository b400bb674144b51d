import AuthCore
import Foundation
import Hummingbird
import HummingbirdTesting
import RedisClient
import Synchronization
import TestSupport
import Testing

/// What an attacker tries against a cluster: secrets read out of Redis, guessing passwords
/// across nodes, and racing logout against requests and refreshes.
extension ClusterTests {
    @Test func redisHoldsNoSessionIdRefreshTokenOrPasswordInClear() async throws {
        let prefix = "secrets-\(UUID().uuidString):"
        let secrets = SecretsSeen()
        try await withThreeNodes(keyPrefix: prefix) { nodes in
            let login = try await nodes[0].login("writer1", mode: "session")
            let sid = try #require(login.sessionCookie)
            let tokens = try await nodes[1].login("writer1", mode: "jwt").decoded(Login.self)
            let rotated = try await nodes[2].post("/auth/refresh", json: #"{"refresh_token":"\#(tokens.refresh_token)"}"#).decoded(Login.self)
            let spare = try await nodes[0].login("reader1", mode: "jwt").decoded(Login.self)
            #expect(try await nodes[1].post("/auth/logout", bearer: spare.access_token).status == .noContent)
            _ = try await nodes[2].login("reader1", mode: "jwt", password: "a wrong guess")
            secrets.add(sid, tokens.refresh_token, rotated.refresh_token, rotated.access_token, spare.refresh_token, NodeHarness.password, "a wrong guess")
            for token in [tokens.access_token, rotated.access_token] {
                secrets.add(String(token.split(separator: ".")[2]))
            }
        }
        let redis = RedisClient(configuration: try RedisConfiguration(url: TestEnvironment.requireRedisURL()))
        let dump: (keys: Int, bytes: [UInt8])
        do {
            dump = try await Self.dumpKeys(matching: "\(prefix)*", redis)
            await redis.shutdown()
        } catch {
            await redis.shutdown()
            throw error
        }
        #expect(dump.keys >= 5, "the scan saw the session, users, families and revocations (\(dump.keys) keys)")
        for secret in secrets.all {
            #expect(!dump.bytes.contains(Array(secret.utf8)), "Redis holds a secret in clear: \(secret.prefix(6))...")
            if let raw = Base64URL.decode(secret), raw.count >= 16 {
                #expect(!dump.bytes.contains(raw), "Redis holds a secret's raw bytes: \(secret.prefix(6))...")
            }
        }
    }

    /// Every key matching `pattern`, its name and every value it holds, in one byte string.
    static func dumpKeys(matching pattern: String, _ redis: RedisClient) async throws -> (keys: Int, bytes: [UInt8]) {
        var bytes: [UInt8] = []
        let keys = try await redis.send(RedisCommand("KEYS", pattern)).array?.compactMap(\.string) ?? []
        for key in keys {
            bytes += Array(key.utf8) + [0]
            let type = try await redis.send(RedisCommand("TYPE", key)).string ?? ""
            let command: RedisCommand? = switch type {
            case "string": RedisCommand("GET", key)
            case "hash": RedisCommand("HGETALL", key)
            case "set": RedisCommand("SMEMBERS", key)
            case "zset": RedisCommand("ZRANGE", key, "0", "-1", "WITHSCORES")
            case "list": RedisCommand("LRANGE", key, "0", "-1")
            default: nil
            }
            guard let command else { continue }
            let reply = try await redis.send(command)
            for value in reply.array ?? [reply] { bytes += (value.bytes ?? []) + [0] }
        }
        return (keys.count, bytes)
    }

    @Test func theLoginLimitHoldsAcrossNodes() async throws {
        try await withThreeNodes { nodes in
            for attempt in 0..<5 {
                let response = try await nodes[attempt % 3].login("reader1", mode: "jwt", password: "guess \(attempt)")
                #expect(response.errorCode == "invalid_credentials")
            }
            for node in nodes {
                let limited = try await node.login("reader1", mode: "jwt")
                #expect(limited.status == .tooManyRequests)
                #expect(limited.errorCode == "too_many_attempts")
            }
            #expect(try await nodes[1].login("writer1", mode: "jwt").status == .ok, "another user is not limited")
        }
    }

    /// The attempt is counted before bcrypt runs, in one step with its window's expiry: forty
    /// guesses at once over three nodes get five password checks, and the rest 429.
    @Test func concurrentGuessesGetNoMorePasswordChecksThanTheLimit() async throws {
        let prefix = "guesses-\(UUID().uuidString):"
        try await withThreeNodes(keyPrefix: prefix) { nodes in
            let statuses = try await withThrowingTaskGroup(of: UInt.self) { group in
                for guess in 0..<40 {
                    group.addTask {
                        UInt(try await nodes[guess % 3].login("reader1", mode: "jwt", password: "guess \(guess)").status.code)
                    }
                }
                return try await group.reduce(into: [UInt]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == 401 }.count == 5, "password checks: \(statuses.sorted())")
            #expect(statuses.filter { $0 == 429 }.count == 35, "\(statuses.sorted())")
        }
        let redis = RedisClient(configuration: try RedisConfiguration(url: TestEnvironment.requireRedisURL()))
        let ttl = try await redis.ttl(prefix + "loginfail:reader1")
        await redis.shutdown()
        guard case .seconds(let seconds) = ttl else {
            Issue.record("the attempt counter has no expiry: \(ttl)")
            return
        }
        #expect(seconds > 0)
    }

    /// A counter left without an expiry (as a lost EXPIRE after INCR could leave one) would lock
    /// the user out for ever; the next attempt gives it its window.
    @Test func anAttemptCounterWithoutExpiryGetsOne() async throws {
        let prefix = "noexpiry-\(UUID().uuidString):"
        let redis = RedisClient(configuration: try RedisConfiguration(url: TestEnvironment.requireRedisURL()))
        do {
            try await redis.set(prefix + "loginfail:reader1", to: "9")
            try await withThreeNodes(keyPrefix: prefix) { (nodes) async throws in
                #expect(try await nodes[0].login("reader1", mode: "jwt").status == .tooManyRequests)
            }
            let ttl = try await redis.ttl(prefix + "loginfail:reader1")
            if case .seconds(let seconds) = ttl { #expect(seconds > 0) } else { Issue.record("still no expiry: \(ttl)") }
            await redis.shutdown()
        } catch {
            await redis.shutdown()
            throw error
        }
    }

    @Test func logoutRacingInFlightRequestsEndsCleanly() async throws {
        try await withThreeNodes { nodes in
            for mode in ["session", "jwt"] {
                let login = try await nodes[0].login("writer1", mode: mode)
                let sid = login.sessionCookie
                let access = mode == "jwt" ? try login.decoded(Login.self).access_token : nil
                let statuses = try await withThrowingTaskGroup(of: [UInt].self) { group in
                    for worker in 0..<12 {
                        group.addTask {
                            var seen: [UInt] = []
                            for request in 0..<40 {
                                let node = nodes[(worker + request) % 3]
                                seen.append(UInt(try await node.get("/api/me", bearer: access, session: sid).status.code))
                            }
                            return seen
                        }
                    }
                    group.addTask {
                        try await Task.sleep(for: .milliseconds(3))
                        return [UInt(try await nodes[1].post("/auth/logout", bearer: access, session: sid).status.code)]
                    }
                    return try await group.reduce(into: []) { $0 += $1 }
                }
                #expect(statuses.filter { $0 == 204 }.count == 1, "\(mode): the logout succeeded")
                #expect(statuses.allSatisfy { [200, 204, 401].contains($0) }, "\(mode): \(Set(statuses))")
                // After the logout, on every node (JWT: once pub/sub has carried it).
                for node in nodes {
                    let refused = try await eventually {
                        try await node.get("/api/me", bearer: access, session: sid).status == .unauthorized
                    }
                    #expect(refused, "\(mode): still accepted after logout")
                }
            }
        }
    }

    @Test func logoutAllRacingARefreshLeavesNothingAlive() async throws {
        try await withThreeNodes { nodes in
            var survivors: [String] = []
            for trial in 0..<100 {
                let tokens = try await nodes[0].login("writer1", mode: "jwt").decoded(Login.self)
                async let refresh = nodes[1].post("/auth/refresh", json: #"{"refresh_token":"\#(tokens.refresh_token)"}"#)
                async let logoutAll = nodes[2].post("/auth/logout-all", bearer: tokens.access_token)
                let (refreshed, loggedOut) = try await (refresh, logoutAll)
                #expect(loggedOut.status == .noContent)
                #expect([200, 401].contains(refreshed.status.code), "trial \(trial): refresh gave \(refreshed.status)")
                guard refreshed.status == .ok else { continue }
                // The refresh won the race: what it handed out must be dead all the same.
                let renewed = try refreshed.decoded(Login.self)
                let again = try await nodes[0].post("/auth/refresh", json: #"{"refresh_token":"\#(renewed.refresh_token)"}"#)
                if again.status != .unauthorized { survivors.append("trial \(trial): the new refresh token still works") }
                for node in nodes {
                    let refused = try await eventually {
                        try await node.get("/api/me", bearer: renewed.access_token).status == .unauthorized
                    }
                    if !refused { survivors.append("trial \(trial): the new access token still works") }
                }
            }
            #expect(survivors.isEmpty, "\(survivors.prefix(5))")
        }
    }
}

/// Secrets a test saw, gathered from inside the cluster closure.
final class SecretsSeen: Sendable {
    private let storage = Mutex<[String]>([])
    func add(_ secrets: String...) { storage.withLock { $0 += secrets } }
    var all: [String] { storage.withLock { $0 } }
}
