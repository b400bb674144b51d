import ArgumentParser
import AuthCore
import AuthNode
import Foundation
import Hummingbird
import Logging
import Metrics
import NIOCore
import Prometheus
import RedisClient
import ServiceLifecycle

@main
struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "authbench-node",
        abstract: "An AuthBench service node: sessions in Redis and JWTs, side by side.",
        discussion: "Every option of `serve` can also be given as an environment variable: --jwt-key-file as AUTHBENCH_JWT_KEY_FILE, and so on.",
        subcommands: [Serve.self, Users.self]
    )

    /// Arguments, environment folded in, then one line on stderr for anything wrong.
    static func main() async {
        var arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == "serve" {
            arguments += Serve.arguments(fromEnvironment: ProcessInfo.processInfo.environment, given: arguments)
        }
        do {
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let code as ExitCode {
            Foundation.exit(code.rawValue)
        } catch {
            let code = exitCode(for: error)
            if code == .success || error is CleanExit {
                exit(withError: error)
            }
            let message = fullMessage(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
            FileHandle.standardError.write(Data("authbench-node: \(message.replacingOccurrences(of: "Error: ", with: ""))\n".utf8))
            Foundation.exit(code == .validationFailure ? 2 : 1)
        }
    }
}

struct StartupError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension JWTAlgorithmName: ExpressibleByArgument {}
extension RevocationMode: ExpressibleByArgument {}
extension SessionCacheMode: ExpressibleByArgument {}
extension Role: ExpressibleByArgument {}
extension Logger.Level: @retroactive ExpressibleByArgument {}

func redisConfiguration(_ url: String) throws -> RedisConfiguration {
    do {
        return try RedisConfiguration(url: url)
    } catch {
        throw StartupError("--redis-url: \(error)")
    }
}
