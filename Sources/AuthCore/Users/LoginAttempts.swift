import RedisClient
import Synchronization

/// Whether a login may go on to check its password.
public enum LoginAttemptVerdict: Sendable, Equatable {
    case allowed
    /// The subject used up its attempts in this window; it ends in `retryAfter` seconds.
    case refused(retryAfter: Int)
}

/// What login attempts are counted against.
public enum LoginAttemptSubject: Sendable, Hashable {
    case username(String)
    /// The client's address: spraying many usernames from one address.
    case address(String)
}

/// Counts login attempts per subject in a fixed window, shared by every node. An attempt is
/// reserved before its password is checked, in one atomic step, so concurrent attempts on any
/// number of nodes get at most `limit` password checks per window.
public protocol LoginAttemptStore: Sendable {
    /// Counts one attempt and says whether it is within `limit` for the window of `window`
    /// seconds that the subject's first attempt opened.
    func reserve(_ subject: LoginAttemptSubject, limit: Int, window: Int) async throws -> LoginAttemptVerdict
    /// Forgets the subject's attempts (a username's, after a successful login).
    func reset(_ subject: LoginAttemptSubject) async throws
    /// Takes back one reserved attempt (an address's, after a successful login: only failures
    /// count against an address, which many users may share).
    func refund(_ subject: LoginAttemptSubject) async throws
}

public final class InMemoryLoginAttemptStore: LoginAttemptStore {
    private let clock: any AuthClock
    private let windows = Mutex<[LoginAttemptSubject: (count: Int, ends: Double)]>([:])

    public init(clock: any AuthClock) {
        self.clock = clock
    }

    public func reserve(_ subject: LoginAttemptSubject, limit: Int, window: Int) async throws -> LoginAttemptVerdict {
        let now = clock.now()
        return windows.withLock { windows in
            var current = windows[subject].flatMap { $0.ends > now ? $0 : nil } ?? (count: 0, ends: now + Double(window))
            current.count += 1
            windows[subject] = current
            return current.count <= limit ? .allowed : .refused(retryAfter: max(Int((current.ends - now).rounded(.up)), 1))
        }
    }

    public func reset(_ subject: LoginAttemptSubject) async throws {
        _ = windows.withLock { $0.removeValue(forKey: subject) }
    }

    public func refund(_ subject: LoginAttemptSubject) async throws {
        windows.withLock { windows in
            if let current = windows[subject], current.count > 0 { windows[subject]?.count = current.count - 1 }
        }
    }
}

/// `<prefix>loginfail:<username>` and `<prefix>loginaddr:<address>`: counters that expire with
/// their window. The count and its expiry are written by one script, so no counter is ever left
/// without an expiry.
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

    /// KEYS[1] the counter: one less, if it still exists (a refund never creates a counter).
    static let refundScript = RedisScript(
        """
        local count = tonumber(redis.call('GET', KEYS[1]) or '0')
        if count > 0 then return redis.call('DECR', KEYS[1]) end
        return 0
        """)

    public init(redis: RedisClient, keys: RedisKeys) {
        self.redis = redis
        self.keys = keys
    }

    func key(_ subject: LoginAttemptSubject) -> String {
        switch subject {
        case .username(let username): keys.loginFailures(username)
        case .address(let address): keys.loginFailuresFromAddress(address)
        }
    }

    public func reserve(_ subject: LoginAttemptSubject, limit: Int, window: Int) async throws -> LoginAttemptVerdict {
        let reply = try await redis.evalScript(Self.reserveScript, keys: [key(subject)], arguments: [limit, window])
        guard let values = reply.array, values.count == 2, let count = values[0].integer, let ttl = values[1].integer else {
            throw RedisError.unexpectedReply("login attempt script: \(reply)")
        }
        return count <= limit ? .allowed : .refused(retryAfter: max(Int(ttl), 1))
    }

    public func reset(_ subject: LoginAttemptSubject) async throws {
        try await redis.del(key(subject))
    }

    public func refund(_ subject: LoginAttemptSubject) async throws {
        _ = try await redis.evalScript(Self.refundScript, keys: [key(subject)])
    }
}
