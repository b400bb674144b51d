import RedisClient
import Synchronization

/// Counts failed logins per username in a fixed window, shared by every node.
public protocol LoginAttemptStore: Sendable {
    /// Failures in the current window and the seconds until it ends.
    func failures(username: String) async throws -> (count: Int, retryAfter: Int)
    func recordFailure(username: String, window: Int) async throws
    func reset(username: String) async throws
}

public final class InMemoryLoginAttemptStore: LoginAttemptStore {
    private let clock: any AuthClock
    private let windows = Mutex<[String: (count: Int, ends: Double)]>([:])

    public init(clock: any AuthClock) {
        self.clock = clock
    }

    public func failures(username: String) async throws -> (count: Int, retryAfter: Int) {
        let now = clock.now()
        return windows.withLock { windows in
            guard let window = windows[username], window.ends > now else { return (0, 0) }
            return (window.count, Int((window.ends - now).rounded(.up)))
        }
    }

    public func recordFailure(username: String, window: Int) async throws {
        let now = clock.now()
        windows.withLock { windows in
            if let current = windows[username], current.ends > now {
                windows[username] = (current.count + 1, current.ends)
            } else {
                windows[username] = (1, now + Double(window))
            }
        }
    }

    public func reset(username: String) async throws {
        _ = windows.withLock { $0.removeValue(forKey: username) }
    }
}

/// `<prefix>loginfail:<username>`: a counter that expires with its window.
public struct RedisLoginAttemptStore: LoginAttemptStore {
    let redis: RedisClient
    let keys: RedisKeys

    public init(redis: RedisClient, keys: RedisKeys) {
        self.redis = redis
        self.keys = keys
    }

    public func failures(username: String) async throws -> (count: Int, retryAfter: Int) {
        let key = keys.loginFailures(username)
        guard let text = try await redis.get(key), let count = Int(String(decoding: text, as: UTF8.self)) else {
            return (0, 0)
        }
        guard case .seconds(let seconds) = try await redis.ttl(key) else { return (count, 1) }
        return (count, max(seconds, 1))
    }

    public func recordFailure(username: String, window: Int) async throws {
        let key = keys.loginFailures(username)
        if try await redis.incr(key) == 1 {
            try await redis.expire(key, seconds: window)
        }
    }

    public func reset(username: String) async throws {
        try await redis.del(keys.loginFailures(username))
    }
}
