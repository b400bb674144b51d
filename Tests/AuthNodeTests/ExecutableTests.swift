import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The real `authbench-node` executable, as an operator runs it.
@Suite struct ExecutableTests {
    static var executable: URL? { BuiltProducts.executable(named: "authbench-node") }

    static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> CommandRun {
        let executable = try #require(executable, "authbench-node is not built next to the tests")
        return try CommandRun.run(executable, arguments, environment: environment)
    }

    @Test func aBadConfigurationStopsItWithOneLine() throws {
        let cases: [([String], [String: String], String)] = [
            (["serve"], [:], "authbench-node: no signing key: give --jwt-key-file (AUTHBENCH_JWT_KEY_FILE), or --dev for a throwaway one"),
            (["serve", "--dev"], ["AUTHBENCH_PORT": "99999"], "authbench-node: --port must be from 1 to 65535"),
            (["serve"], ["AUTHBENCH_DEV": "true", "AUTHBENCH_REDIS_URL": "http://x"], "authbench-node: --redis-url: invalid Redis URL: scheme: expected 'redis://' at the start of the URL"),
            (["serve", "--jwt-key-file", "/nonexistent/key"], [:], "authbench-node: --jwt-key-file: cannot read /nonexistent/key"),
            (["serve", "--dev", "--revocation", "sometimes"], [:], "authbench-node: The value 'sometimes' is invalid for '--revocation <revocation>'. Please provide one of 'push' and 'none'."),
        ]
        for (arguments, environment, expected) in cases {
            let run = try Self.run(arguments, environment: environment)
            #expect(run.status != 0, "\(arguments) \(environment)")
            #expect(run.stderr == expected + "\n", "\(arguments) \(environment)")
        }
    }

    @Test func aPasswordBcryptWouldCutIsRefusedBeforeAnythingIsWritten() throws {
        let long = String(repeating: "x", count: 73)
        let seeded = try Self.run(["users", "seed", "--count", "1", "--password=\(long)", "--redis-url", "redis://127.0.0.1:1"])
        #expect(seeded.status != 0)
        #expect(seeded.stderr.hasPrefix("authbench-node: --password: the password must be at most 72 bytes"), "\(seeded.stderr)")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("authbench-pw-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try long.write(to: folder, atomically: true, encoding: .utf8)
        let added = try Self.run(["users", "add", "someone", "--password-file", folder.path, "--redis-url", "redis://127.0.0.1:1"])
        #expect(added.status != 0)
        #expect(added.stderr == "authbench-node: --password-file: the password must be at most 72 bytes (bcrypt's limit)\n", "\(added.stderr)")
    }

    /// Generated passwords can begin with `-`; the scripts pass them as `--password=...`.
    @Test(.sharedRedis) func aPasswordBeginningWithADashIsTakenInTheEqualsForm() throws {
        let redisURL = try TestEnvironment.requireRedisURL()
        let prefix = "exe-\(UUID().uuidString):"
        let seeded = try Self.run([
            "users", "seed", "--count", "2", "--prefix", "dash", "--password=-Xy_9-starts-with-a-dash", "--bcrypt-cost", "4",
            "--redis-url", redisURL, "--key-prefix", prefix,
        ])
        #expect(seeded.status == 0, "\(seeded.stderr)")
        #expect(seeded.stdout.hasPrefix("seeded 2 users dash1...dash2"), "\(seeded.stdout)")
        let separated = try Self.run([
            "users", "seed", "--count", "2", "--password", "-Xy_9-starts-with-a-dash", "--redis-url", redisURL, "--key-prefix", prefix,
        ])
        #expect(separated.status != 0)
        #expect(separated.stderr.hasPrefix("authbench-node: Missing value for '--password <password>'"), "\(separated.stderr)")
    }

    @Test(.sharedRedis) func servesFromTheEnvironmentAndFinishesInFlightRequestsOnSIGTERM() async throws {
        let redisURL = try TestEnvironment.requireRedisURL()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("authbench-exe-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let keyFile = folder.appendingPathComponent("hs256.key")
        try Data((0..<48).map { _ in UInt8.random(in: 0...255) }).write(to: keyFile)
        let passwordFile = folder.appendingPathComponent("password")
        try Data("slow enough to be in flight\n".utf8).write(to: passwordFile)
        let prefix = "exe-\(UUID().uuidString):"

        // bcrypt cost 14: a login takes about a second, still running when SIGTERM arrives.
        let add = try Self.run([
            "users", "add", "slowpoke", "--role", "admin", "--password-file", passwordFile.path, "--bcrypt-cost", "14",
            "--redis-url", redisURL, "--key-prefix", prefix,
        ])
        #expect(add.status == 0, "\(add.stderr)")
        #expect(add.stdout == "user slowpoke saved with role admin\n")

        let port = try LoopbackPort.free()
        let executable = try #require(Self.executable, "authbench-node is not built next to the tests")
        let node = Process()
        node.executableURL = executable
        node.arguments = ["serve"]
        node.environment = ProcessInfo.processInfo.environment.merging([
            "AUTHBENCH_NODE_ID": "env-node", "AUTHBENCH_PORT": "\(port)", "AUTHBENCH_REDIS_URL": redisURL,
            "AUTHBENCH_KEY_PREFIX": prefix, "AUTHBENCH_JWT_KEY_FILE": keyFile.path, "AUTHBENCH_LOG_LEVEL": "warning",
            "AUTHBENCH_IDLE_TIMEOUT": "1",
        ]) { $1 }
        let log = Pipe()
        node.standardError = log
        node.standardOutput = log
        try node.run()
        defer { if node.isRunning { kill(node.processIdentifier, SIGKILL) } }

        let base = "http://127.0.0.1:\(port)"
        var health = ""
        let ready = try await eventually {
            health = try Self.curl(["-s", "\(base)/readyz"])
            return health.contains(#""status":"ready""#)
        }
        #expect(ready && health == #"{"status":"ready","node":"env-node"}"#, "\(health)")

        // AUTHBENCH_IDLE_TIMEOUT=1: closed by the node, not before the second has passed.
        let clock = ContinuousClock()
        let idleStart = clock.now
        #expect(await (try RawConnection(port: port)).receiveAll(timeout: .seconds(20)).closed, "an idle connection is closed by the node")
        #expect(clock.now - idleStart >= .seconds(1))

        // The login's bytes are in the node's socket before the 400 ms wait begins; its bcrypt at
        // cost 14 takes over a second on any machine, so SIGTERM finds it in flight.
        let login = try RawConnection(port: port)
        let body = #"{"username":"slowpoke","password":"slow enough to be in flight","mode":"session"}"#
        #expect(await login.send(
            "POST /auth/login HTTP/1.1\r\nHost: n\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"))
        try await Task.sleep(for: .milliseconds(400))
        kill(node.processIdentifier, SIGTERM)
        let answer = String(decoding: await login.receiveAll(timeout: .seconds(60)).bytes.prefix(12), as: UTF8.self)
        #expect(answer == "HTTP/1.1 200", "the login in flight when SIGTERM came still got its answer: \(answer)")

        let stopped = try await eventually { !node.isRunning }
        #expect(stopped, "the node stopped after SIGTERM")
        #expect(node.terminationStatus == 0)
        let output = String(decoding: log.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let secret = try Data(contentsOf: keyFile)
        #expect(!output.contains("slow enough to be in flight"))
        #expect(!output.contains(secret.base64EncodedString()))
    }

    /// Hummingbird's own limit (MaximumAvailableConnections) stops accepting at the cap, so a
    /// connection past it waits in the listen backlog. Tested on the executable: the in-process
    /// live test server rebuilds the configuration without it.
    @Test(.sharedRedis) func connectionsPastTheCapWaitUntilOneEnds() async throws {
        let port = try LoopbackPort.free()
        let executable = try #require(Self.executable, "authbench-node is not built next to the tests")
        let node = Process()
        node.executableURL = executable
        node.arguments = [
            "serve", "--dev", "--port", "\(port)", "--max-connections", "3", "--redis-url", try TestEnvironment.requireRedisURL(),
            "--key-prefix", "cap-\(UUID().uuidString):", "--log-level", "error",
        ]
        node.standardOutput = FileHandle.nullDevice
        node.standardError = FileHandle.nullDevice
        try node.run()
        defer { if node.isRunning { kill(node.processIdentifier, SIGKILL) } }
        #expect(try await eventually { try Self.curl(["-s", "http://127.0.0.1:\(port)/healthz"]).contains("ok") })

        // Connections kept open and served one by one, until one is not answered. A healthy node
        // answers /healthz in milliseconds; 10 s unanswered means not accepted.
        var held: [RawConnection] = []
        var waiting: RawConnection?
        while held.count <= 3 {
            let connection = try RawConnection(port: port)
            await connection.send("GET /healthz HTTP/1.1\r\nHost: n\r\n\r\n")
            guard case .bytes(let bytes) = await connection.receive(timeout: .seconds(10)),
                String(decoding: bytes.prefix(12), as: UTF8.self) == "HTTP/1.1 200"
            else {
                waiting = connection
                break
            }
            held.append(connection)
        }
        // The readiness check's own connection may not have been counted closed yet.
        #expect((2...3).contains(held.count), "served while others stayed open: \(held.count)")
        let pending = try #require(waiting, "every connection was served: no cap")
        held.removeFirst().close()
        guard case .bytes(let answer) = await pending.receive(timeout: .seconds(20)) else {
            Issue.record("the waiting connection was not served once one ended")
            return
        }
        #expect(String(decoding: answer.prefix(12), as: UTF8.self) == "HTTP/1.1 200")
    }

    static func curl(_ arguments: [String]) throws -> String {
        try CommandRun.run(program: "curl", ["--max-time", "10"] + arguments).stdout
    }
}
