import ArgumentParser
import Foundation

@main
struct LoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "authbench-load",
        abstract: "Measures AuthBench nodes: sessions and JWTs side by side.",
        subcommands: [Run.self, Bench.self, ScenarioCommand.self, Compare.self, Report.self, DelayProxyCommand.self]
    )

    /// One line on stderr for anything wrong, and a non-zero exit.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let code as ExitCode {
            Foundation.exit(code.rawValue)
        } catch {
            let code = exitCode(for: error)
            if code == .success || error is CleanExit { exit(withError: error) }
            let message = fullMessage(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
            FileHandle.standardError.write(Data("authbench-load: \(message.replacingOccurrences(of: "Error: ", with: ""))\n".utf8))
            Foundation.exit(code == .validationFailure ? 2 : 1)
        }
    }
}
