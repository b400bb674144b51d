import Logging
import RedisClient
import Synchronization

/// Shares revocations between nodes.
public protocol RevocationStore: Sendable {
    /// Records the revocation and tells every node.
    func publish(_ revocation: Revocation) async throws
    /// Every revocation still in force at `now`.
    func loadAll(now: Int64) async throws -> [Revocation]
}

/// For tests in one process: every list registered here hears every revocation at once.
public final class InMemoryRevocationStore: RevocationStore {
    private struct State {
        var revocations: [Revocation] = []
        var listeners: [RevocationList] = []
    }

    private let state = Mutex(State())

    public init() {}

    public func register(_ list: RevocationList) {
        state.withLock { $0.listeners.append(list) }
    }

    public func publish(_ revocation: Revocation) async throws {
        let listeners = state.withLock { state in
            state.revocations.append(revocation)
            return state.listeners
        }
        for list in listeners { list.apply(revocation) }
    }

    public func loadAll(now: Int64) async throws -> [Revocation] {
        state.withLock { $0.revocations.filter { $0.until >= now } }
    }
}

/// `<prefix>revoked`: a sorted set of revocation members scored by when they may be
/// forgotten; `<prefix>revocations`: the channel that announces each new one.
public struct RedisRevocationStore: RevocationStore {
    let redis: RedisClient
    let keys: RedisKeys
    let logger: Logger

    public init(redis: RedisClient, keys: RedisKeys, logger: Logger) {
        self.redis = redis
        self.keys = keys
        self.logger = logger
    }

    /// Drops the entries past their time (by Redis's clock), adds the new one and announces it,
    /// in one round trip: the set stays as small as what is in force.
    static let publishScript = RedisScript("""
        -- KEYS: revoked set; ARGV: score, member, channel, message
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. redis.call('TIME')[1])
        redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
        return redis.call('PUBLISH', ARGV[3], ARGV[4])
        """)

    public func publish(_ revocation: Revocation) async throws {
        _ = try await redis.evalScript(
            Self.publishScript, keys: [keys.revoked],
            arguments: [revocation.until, revocation.member, keys.revocationChannel, revocation.message])
    }

    public func loadAll(now: Int64) async throws -> [Revocation] {
        try await redis.zremrangebyscore(keys.revoked, min: .negativeInfinity, max: .exclusive(Double(now)))
        return try await redis.zrangebyscoreWithScores(keys.revoked, min: .inclusive(Double(now)), max: .positiveInfinity)
            .compactMap { entry in
                // Only nodes write this set; a score no node writes (inf, past Int64) is skipped, not trusted.
                guard let until = Int64(exactly: entry.score.rounded(.down)) else {
                    logger.warning("revocation entry skipped: its score is not a time", metadata: ["score": "\(entry.score)"])
                    return nil
                }
                return Revocation(member: String(decoding: entry.member, as: UTF8.self), until: until)
            }
    }
}
