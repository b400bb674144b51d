import Foundation

/// A command run to its end: its exit status and everything it printed.
public struct CommandRun: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String

    /// A program found on `PATH`, as `/usr/bin/env` finds it.
    public static func run(program: String, _ arguments: [String]) throws -> CommandRun {
        try run(URL(fileURLWithPath: "/usr/bin/env"), [program] + arguments)
    }

    /// Runs `executable` with `arguments` and no input; the environment is the test's, without
    /// `AUTHBENCH_` settings, plus `environment`.
    public static func run(
        _ executable: URL, _ arguments: [String], environment: [String: String] = [:], in directory: URL? = nil
    ) throws -> CommandRun {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("AUTHBENCH_") }
            .merging(environment) { $1 }
        if let directory { process.currentDirectoryURL = directory }
        process.standardInput = FileHandle.nullDevice
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Both pipes are drained at once: a child filling one while the other is read would block.
        let stderrRead = DispatchGroup()
        let stderr = ReadData()
        DispatchQueue.global().async(group: stderrRead) { stderr.data = err.fileHandleForReading.readDataToEndOfFile() }
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        stderrRead.wait()
        process.waitUntilExit()
        return CommandRun(
            status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr.data, as: UTF8.self))
    }
}

/// Written by one reader thread, read after the group it ran in is waited for.
private final class ReadData: @unchecked Sendable {
    var data = Data()
}

/// The package's executables, built next to the test bundle by `swift build --build-tests`.
public enum BuiltProducts {
    public static func executable(named name: String) -> URL? {
        let folder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [folder, folder.deletingLastPathComponent()] {
            let url = candidate.appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        return nil
    }

    /// The package's root folder (this file is `Tests/TestSupport/CommandRun.swift`).
    public static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
}
