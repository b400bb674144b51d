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

    public init(extraArguments: [String] = []) throws {
        self.port = try Self.freeLoopbackPort()
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
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if Self.acceptsConnections(port: port) { return }
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

    public static func freeLoopbackPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestSupportError("socket() failed: errno \(errno)") }
        defer { close(fd) }
        var address = loopbackAddress(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw TestSupportError("bind() failed: errno \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw TestSupportError("getsockname() failed: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    public static func acceptsConnections(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = loopbackAddress(port: port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return connected == 0
    }

    private static func loopbackAddress(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return address
    }
}

public struct TestSupportError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
