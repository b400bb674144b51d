import RedisClient
import Synchronization

/// Whether a login may go on to check its password.
public enum LoginAttemptVerdict: Sendable, Equatable {
    case allowed
    /// The username used up its attempts in this window; it ends in `retryAfter` seconds.
    case refused(retryAfter: Int)
}

/// Counts login attempts per username in a fixed window, shared by every node. An attempt is
/// reserved before its password is checked, in one atomic step, so concurrent attempts on any
/// number of nodes get at most `limit` password checks per window; a successful login resets
/// the count.
public protocol LoginAttemptStore: Sendable {
    /// Counts one attempt and says whether it is within `limit` for the window of `window`
    /// seconds that the username's first attempt opened.
    func reserve(username: String, limit: Int, window: Int) async throws -> LoginAttemptVerdict
    func reset(username: String) async throws
}

public final class InMemoryLoginAttemptStore: LoginAttemptStore {
    private let clock: any AuthClock
    private let windows = Mutex<[String: (count: Int, ends: Double)]>([:])

    public init(clock: any AuthClock) {
        self.clock = clock
    }

    public func reserve(username: String, limit: Int, window: Int) async throws -> LoginAttemptVerdict {
        let now = clock.now()
        return windows.withLock { windows in
            var current = windows[username].flatMap { $0.ends > now ? $0 : nil } ?? (count: 0, ends: now + Double(window))
            current.count += 1
            windows[username] = current
            return current.count <= limit ? .allowed : .refused(retryAfter: max(Int((current.ends - now).rounded(.up)), 1))
        }
    }

    public func reset(username: String) async throws {
        _ = windows.withLock { $0.removeValue(forKey: username) }
    }
}

/// `<prefix>loginfail:<username>`: a counter that expires with its window. The count and its
/// expiry are written by one script, so no counter is ever left without an expiry.
public struct RedisLoginAttemptStore: LoginAttemptStore {
    let redis: RedisClient
    let keys: RedisKeys

    /// KEYS[1] the counter; ARGV[1] the limit, ARGV[2] the window in seconds.
    /// Returns the count and the window's remaining seconds.
    static let reserveScript = RedisScript(
        """
        local count = redis.call('INCR', KEYS[1])
        local ttl = redis.call('TTL', KEYS[1])
        if ttl < 0 then
          redis.call('EXPIRE', KEYS[1], ARGV[2])
          ttl = tonumber(ARGV[2])
        end
        return {count, ttl}
        """)

    public init(redis: RedisClient, keys: RedisKeys) {
        self.redis = redis
        self.keys = keys
    }

    public func reserve(username: String, limit: Int, window: Int) async throws -> LoginAttemptVerdict {
        let reply = try await redis.evalScript(Self.reserveScript, keys: [keys.loginFailures(username)], arguments: [limit, window])
        guard let values = reply.array, values.count == 2, let count = values[0].integer, let ttl = values[1].integer else {
            throw RedisError.unexpectedReply("login attempt script: \(reply)")
        }
        return count <= limit ? .allowed : .refused(retryAfter: max(Int(ttl), 1))
    }

    public func reset(username: String) async throws {
        try await redis.del(keys.loginFailures(username))
    }
}
