import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A redis-server of a test's own, on a free loopback port in a temporary directory,
/// with no persistence, that the test may kill, pause and start again on the same port.
public final class RedisServerProcess: @unchecked Sendable {
    public let port: Int
    public let directory: URL
    private let extraArguments: [String]
    private let lock = NSLock()
    private var process: Process?

    public static var executablePath: String? {
        if let path = ProcessInfo.processInfo.environment["AUTHBENCH_TEST_REDIS_SERVER"], !path.isEmpty {
            return path
        }
        let searchPath = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for folder in searchPath.split(separator: ":") + ["/usr/sbin", "/usr/bin"] {
            let candidate = "\(folder)/redis-server"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    public var url: String { "redis://127.0.0.1:\(port)" }

    /// The running server's process id; nil when it is not running.
    public var pid: Int32? { lock.withLock { process?.processIdentifier } }

    public init(extraArguments: [String] = []) throws {
        self.port = try LoopbackPort.free()
        self.directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("authbench-redis-\(UUID().uuidString)")
        self.extraArguments = extraArguments
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    /// Starts the server and waits until it accepts connections.
    public func start() async throws {
        guard let executable = Self.executablePath else {
            throw TestSupportError("redis-server not found: run scripts/bootstrap or set AUTHBENCH_TEST_REDIS_SERVER")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = [
            "--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", directory.path, "--daemonize", "no", "--loglevel", "warning",
            "--logfile", directory.appendingPathComponent("redis.log").path,
        ] + extraArguments
        try process.run()
        lock.withLock { self.process = process }
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if LoopbackPort.acceptsConnections(port) { return }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestSupportError("redis-server on port \(port) did not start; see \(directory.path)/redis.log")
    }

    /// SIGKILL: the server dies without closing anything politely, as in a crash.
    public func kill() async {
        guard let process = lock.withLock({ self.process }) else { return }
        Glibc.kill(process.processIdentifier, SIGKILL)
        while process.isRunning {
            try? await Task.sleep(for: .milliseconds(5))
        }
        lock.withLock { self.process = nil }
    }

    /// SIGSTOP / SIGCONT: the server keeps its sockets open but answers nothing.
    public func pause() {
        lock.withLock { process }.map { _ = Glibc.kill($0.processIdentifier, SIGSTOP) }
    }

    public func resume() {
        lock.withLock { process }.map { _ = Glibc.kill($0.processIdentifier, SIGCONT) }
    }

    /// Kills the server and removes its directory.
    public func remove() async {
        resume()
        await kill()
        try? FileManager.default.removeItem(at: directory)
    }

    /// Runs `body` with a started server, which is removed afterwards whatever happens.
    public static func with<T>(
        extraArguments: [String] = [],
        _ body: (RedisServerProcess) async throws -> T
    ) async throws -> T {
        let server = try RedisServerProcess(extraArguments: extraArguments)
        do {
            try await server.start()
            let result = try await body(server)
            await server.remove()
            return result
        } catch {
            await server.remove()
            throw error
        }
    }
}

public struct TestSupportError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
