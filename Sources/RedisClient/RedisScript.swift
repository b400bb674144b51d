import Crypto

/// A Lua script run with EVALSHA; its SHA-1 is computed once, here.
public struct RedisScript: Sendable, Hashable {
    public let source: String
    public let sha1: String

    public init(_ source: String) {
        self.source = source
        self.sha1 = Insecure.SHA1.hash(data: Array(source.utf8)).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}

extension RedisClient {
    /// EVALSHA; when Redis does not know the script (NOSCRIPT: first use, or after a
    /// restart), SCRIPT LOAD it and run EVALSHA again.
    public func evalScript(
        _ script: RedisScript,
        keys: [String] = [],
        arguments: [any RedisArgument] = []
    ) async throws -> RESPValue {
        var command = RedisCommand("EVALSHA", script.sha1)
        command.append(keys.count)
        for key in keys { command.append(key) }
        for argument in arguments { argument.append(to: &command) }
        do {
            return try await send(command)
        } catch let error as RedisError where error.serverErrorCode == "NOSCRIPT" {
            let loaded = try await send(RedisCommand("SCRIPT", "LOAD", script.source))
            guard loaded.string == script.sha1 else { throw unexpected("SCRIPT LOAD", loaded) }
            return try await send(command)
        }
    }
}
