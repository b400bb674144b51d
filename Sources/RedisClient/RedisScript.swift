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
    /// EVALSHA; when Redis does not know the script (NOSCRIPT: first use, after a restart or a
    /// SCRIPT FLUSH), EVAL, which runs it and caches it in one step (a SCRIPT LOAD then EVALSHA
    /// could meet another flush in between).
    public func evalScript(
        _ script: RedisScript,
        keys: [String] = [],
        arguments: [any RedisArgument] = []
    ) async throws -> RESPValue {
        func command(_ name: String, _ scriptArgument: String) -> RedisCommand {
            var command = RedisCommand(name, scriptArgument)
            command.append(keys.count)
            for key in keys { command.append(key) }
            for argument in arguments { argument.append(to: &command) }
            return command
        }
        do {
            return try await send(command("EVALSHA", script.sha1))
        } catch let error as RedisError where error.serverErrorCode == "NOSCRIPT" {
            return try await send(command("EVAL", script.source))
        }
    }
}
