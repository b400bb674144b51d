/// How long a key lives: EX (seconds) or PX (milliseconds).
public enum RedisExpiration: Sendable, Hashable {
    case seconds(Int)
    case milliseconds(Int)

    fileprivate func append(to command: inout RedisCommand) {
        switch self {
        case .seconds(let seconds):
            command.append("EX")
            command.append(seconds)
        case .milliseconds(let milliseconds):
            command.append("PX")
            command.append(milliseconds)
        }
    }
}

/// SET's NX / XX.
public enum RedisSetCondition: Sendable, Hashable {
    case always
    case ifNotExists
    case ifExists
}

/// TTL's answer, without its magic numbers.
public enum RedisTimeToLive: Sendable, Hashable {
    case keyMissing
    case noExpiry
    case seconds(Int)
}

/// A ZRANGEBYSCORE / ZREMRANGEBYSCORE bound.
public enum RedisScoreBound: Sendable, Hashable {
    case inclusive(Double)
    case exclusive(Double)
    case negativeInfinity
    case positiveInfinity

    fileprivate var argument: String {
        switch self {
        case .inclusive(let score): Self.format(score)
        case .exclusive(let score): "(" + Self.format(score)
        case .negativeInfinity: "-inf"
        case .positiveInfinity: "+inf"
        }
    }

    private static func format(_ score: Double) -> String {
        score.rounded() == score && abs(score) < 1e15 ? String(Int64(score)) : String(score)
    }
}

extension RedisClient {
    public func ping() async throws -> String {
        let reply = try await send(RedisCommand("PING"))
        guard let text = reply.string else { throw unexpected("PING", reply) }
        return text
    }

    public func get(_ key: String) async throws -> [UInt8]? {
        try await optionalBytes("GET", send(RedisCommand("GET", key)))
    }

    /// GET and set a new expiry in one round trip (Redis 6.2+).
    public func getex(_ key: String, expiration: RedisExpiration) async throws -> [UInt8]? {
        var command = RedisCommand("GETEX", key)
        expiration.append(to: &command)
        return try await optionalBytes("GETEX", send(command))
    }

    /// Returns false when the condition (NX/XX) kept the value from being set.
    @discardableResult
    public func set(
        _ key: String,
        to value: some RedisArgument,
        expiration: RedisExpiration? = nil,
        condition: RedisSetCondition = .always
    ) async throws -> Bool {
        var command = RedisCommand("SET", key)
        command.append(argument: value)
        expiration?.append(to: &command)
        switch condition {
        case .always: break
        case .ifNotExists: command.append("NX")
        case .ifExists: command.append("XX")
        }
        let reply = try await send(command)
        switch reply {
        case .simpleString: return true
        case .null: return false
        default: throw unexpected("SET", reply)
        }
    }

    /// The number of keys removed.
    @discardableResult
    public func del(_ keys: [String]) async throws -> Int {
        try await integer("DEL", send(RedisCommand("DEL", arguments: keys)))
    }

    @discardableResult
    public func del(_ keys: String...) async throws -> Int {
        try await del(keys)
    }

    /// False when the key does not exist.
    @discardableResult
    public func expire(_ key: String, seconds: Int) async throws -> Bool {
        var command = RedisCommand("EXPIRE", key)
        command.append(seconds)
        return try await integer("EXPIRE", send(command)) == 1
    }

    public func ttl(_ key: String) async throws -> RedisTimeToLive {
        switch try await integer("TTL", send(RedisCommand("TTL", key))) {
        case -2: .keyMissing
        case -1: .noExpiry
        case let seconds: .seconds(seconds)
        }
    }

    /// The number of fields added (not counting fields updated).
    @discardableResult
    public func hset(_ key: String, fields: [(String, any RedisArgument)]) async throws -> Int {
        var command = RedisCommand("HSET", key)
        for (field, value) in fields {
            command.append(field)
            value.append(to: &command)
        }
        return try await integer("HSET", send(command))
    }

    public func hget(_ key: String, field: String) async throws -> [UInt8]? {
        try await optionalBytes("HGET", send(RedisCommand("HGET", key, field)))
    }

    /// Every field of the hash; empty when the key does not exist.
    public func hgetall(_ key: String) async throws -> [String: [UInt8]] {
        let reply = try await send(RedisCommand("HGETALL", key))
        guard let items = reply.array, items.count % 2 == 0 else { throw unexpected("HGETALL", reply) }
        var fields: [String: [UInt8]] = [:]
        for index in stride(from: 0, to: items.count, by: 2) {
            guard let field = items[index].string, let value = items[index + 1].bytes else {
                throw unexpected("HGETALL", reply)
            }
            fields[field] = value
        }
        return fields
    }

    /// The number of members added.
    @discardableResult
    public func sadd(_ key: String, members: [any RedisArgument]) async throws -> Int {
        var command = RedisCommand("SADD", key)
        for member in members { member.append(to: &command) }
        return try await integer("SADD", send(command))
    }

    /// The number of members removed.
    @discardableResult
    public func srem(_ key: String, members: [any RedisArgument]) async throws -> Int {
        var command = RedisCommand("SREM", key)
        for member in members { member.append(to: &command) }
        return try await integer("SREM", send(command))
    }

    public func smembers(_ key: String) async throws -> [[UInt8]] {
        try await byteArrays("SMEMBERS", send(RedisCommand("SMEMBERS", key)))
    }

    /// The number of members added (not counting score updates).
    @discardableResult
    public func zadd(_ key: String, members: [(score: Double, member: any RedisArgument)]) async throws -> Int {
        var command = RedisCommand("ZADD", key)
        for (score, member) in members {
            command.append(argument: score)
            member.append(to: &command)
        }
        return try await integer("ZADD", send(command))
    }

    public func zrangebyscore(
        _ key: String,
        min: RedisScoreBound,
        max: RedisScoreBound
    ) async throws -> [[UInt8]] {
        try await byteArrays("ZRANGEBYSCORE", send(RedisCommand("ZRANGEBYSCORE", key, min.argument, max.argument)))
    }

    /// Members with their scores, lowest score first.
    public func zrangebyscoreWithScores(
        _ key: String,
        min: RedisScoreBound,
        max: RedisScoreBound
    ) async throws -> [(member: [UInt8], score: Double)] {
        let reply = try await send(RedisCommand("ZRANGEBYSCORE", key, min.argument, max.argument, "WITHSCORES"))
        guard let items = reply.array, items.count % 2 == 0 else { throw unexpected("ZRANGEBYSCORE", reply) }
        var members: [(member: [UInt8], score: Double)] = []
        members.reserveCapacity(items.count / 2)
        for index in stride(from: 0, to: items.count, by: 2) {
            guard let member = items[index].bytes, let scoreText = items[index + 1].string,
                let score = Double(scoreText == "inf" ? "infinity" : scoreText == "-inf" ? "-infinity" : scoreText)
            else { throw unexpected("ZRANGEBYSCORE", reply) }
            members.append((member, score))
        }
        return members
    }

    /// The number of members removed.
    @discardableResult
    public func zremrangebyscore(_ key: String, min: RedisScoreBound, max: RedisScoreBound) async throws -> Int {
        try await integer("ZREMRANGEBYSCORE", send(RedisCommand("ZREMRANGEBYSCORE", key, min.argument, max.argument)))
    }

    /// The value after the increment.
    @discardableResult
    public func incr(_ key: String) async throws -> Int {
        try await integer("INCR", send(RedisCommand("INCR", key)))
    }

    /// The number of subscribers that received the message.
    @discardableResult
    public func publish(_ channel: String, message: some RedisArgument) async throws -> Int {
        var command = RedisCommand("PUBLISH", channel)
        command.append(argument: message)
        return try await integer("PUBLISH", send(command))
    }

    private func optionalBytes(_ name: String, _ reply: RESPValue) throws -> [UInt8]? {
        switch reply {
        case .bulkString(let bytes): return bytes
        case .null: return nil
        default: throw unexpected(name, reply)
        }
    }

    private func integer(_ name: String, _ reply: RESPValue) throws -> Int {
        guard let value = reply.integer else { throw unexpected(name, reply) }
        return Int(value)
    }

    private func byteArrays(_ name: String, _ reply: RESPValue) throws -> [[UInt8]] {
        guard let items = reply.array else { throw unexpected(name, reply) }
        var result: [[UInt8]] = []
        result.reserveCapacity(items.count)
        for item in items {
            guard let bytes = item.bytes else { throw unexpected(name, reply) }
            result.append(bytes)
        }
        return result
    }

    func unexpected(_ name: String, _ reply: RESPValue) -> RedisError {
        .unexpectedReply("\(name) answered \(reply)")
    }
}
