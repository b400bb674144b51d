import Foundation
import FoundationXML
import NIOCore
import RedisClient
import Testing
import TestSupport

@testable import LoadCosts
@testable import LoadEngine
@testable import LoadReports

@Suite struct ResourceSampleTests {
    @Test func procStatIsReadPastACommandNameWithSpacesAndParentheses() throws {
        let line = "4242 (nginx: worker (x) 1) S 4241 4241 4241 0 -1 4194624 100 0 0 0 37 12 5 3 20 0 1 0 9 1000 10\n"
        let stat = try #require(ProcessCPU.parse(line))
        #expect(stat.pid == 4242)
        #expect(stat.parent == 4241)
        #expect(stat.ticks == 57, "its own user and system time and its waited-for children's")
        #expect(ProcessCPU.parse("4242 (truncated) S 1 2") == nil)
    }

    @Test func infoSectionsGiveCallsByCommandAndUsedMemory() {
        let commandstats = "# Commandstats\r\ncmdstat_getex:calls=1200,usec=2400,usec_per_call=2.00,rejected_calls=0,failed_calls=0\r\n"
            + "cmdstat_client|setname:calls=3,usec=1,usec_per_call=0.33,rejected_calls=0,failed_calls=0\r\ncmdstat_EVALSHA:calls=7,usec=70\r\n"
        #expect(RedisStats.commandCalls(inInfo: commandstats) == ["getex": 1200, "client|setname": 3, "evalsha": 7])
        #expect(RedisStats.usedMemory(inInfo: "# Memory\r\nused_memory:1048576\r\nused_memory_human:1.00M\r\n") == 1_048_576)
        #expect(RedisStats.usedMemory(inInfo: "# Memory\r\n") == nil)
    }

    @Test func aWindowIsTheDifferenceOfItsSamplesWithoutTheMetersOwnCommands() {
        let start = ResourceSample(cpuMicros: ["node": 1_000, "redis": 50, "lb": 10], redisCalls: ["getex": 10, "info": 4], redisUsedMemory: 5_000)
        let end = ResourceSample(cpuMicros: ["node": 4_000, "redis": 80, "load": 9], redisCalls: ["getex": 110, "info": 6, "ping": 1], redisUsedMemory: 4_500)
        let use = ResourceUse(from: start, to: end, seconds: 2)
        #expect(use.cpu_us == ["node": 3_000, "redis": 30], "a role in only one sample (a process that died or appeared) is left out")
        #expect(use.redis_calls == ["getex": 100, "ping": 1])
        #expect(use.redisCallCount == 101)
        #expect(use.redis_memory_bytes == -500)
    }

    /// Runs `script` in /bin/sh while `body` looks at it, then kills the shell and its children.
    private func withShell(_ script: String, _ body: (Int32) async throws -> Void) async throws {
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/bin/sh")
        shell.arguments = ["-c", script]
        try shell.run()
        let pid = shell.processIdentifier
        defer {
            for child in ProcessCPU.allStats() where child.parent == pid { kill(child.pid, SIGKILL) }
            kill(pid, SIGKILL)
            shell.waitUntilExit()
        }
        try await body(pid)
    }

    @Test func aProcessTreeCountsTheCPUOfItsChildren() async throws {
        // sh waits while its child burns a core: the tree's CPU grows, the parent's own does not.
        try await withShell("(while :; do :; done) & wait") { pid in
            let before = try #require(ProcessCPU.micros(ofTree: pid))
            let grew = try await eventually { (ProcessCPU.micros(ofTree: pid) ?? 0) >= before + 200_000 }
            #expect(grew, "the busy child's CPU time reached its parent's tree")
            let parentOwn = try #require(ProcessCPU.stat(pid)).ticks
            #expect(Double(parentOwn) * 1e6 / ProcessCPU.ticksPerSecond < 100_000, "the waiting shell itself spent next to nothing")
        }
        #expect(ProcessCPU.micros(ofTree: Int32.max) == nil)
    }

    @Test func aChildThatExitsStaysCounted() async throws {
        // The subshell burns CPU and exits; sh waits for it, then sleeps. Once it is gone its time
        // is still in the tree, in sh's children's time.
        try await withShell("(i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done); exec sleep 30") { pid in
            let childGone = try await eventually {
                ProcessCPU.stat(pid).map { _ in !ProcessCPU.allStats().contains { $0.parent == pid } } ?? false
                    && (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?.hasPrefix("sleep") == true
            }
            #expect(childGone, "the subshell finished and sh went on to sleep")
            #expect((ProcessCPU.micros(ofTree: pid) ?? 0) >= 100_000, "the exited subshell's CPU time is still counted")
        }
    }

    @Test(.ownRedisServer)
    func theMetersCommandCountsAreRedisOwn() async throws {
        try await RedisServerProcess.with { (server) async throws in
            let client = RedisClient(configuration: try RedisConfiguration(url: server.url))
            let pid = try #require(server.pid)
            let meter = ClusterResourceMeter(processes: { ["redis": [pid]] }, redis: client)
            do {
                let start = try await meter.sample()
                for index in 0..<100 { _ = try await client.set("key\(index)", to: "value") }
                for index in 0..<40 { _ = try await client.get("key\(index)") }
                let end = try await meter.sample()
                let use = ResourceUse(from: start, to: end, seconds: 1)
                #expect(use.redis_calls == ["set": 100, "get": 40])
                #expect((use.redis_memory_bytes ?? 0) > 100 * 10, "100 keys take memory")
                #expect(use.cpu_us["redis"] != nil)
                await client.shutdown()
            } catch {
                await client.shutdown()
                throw error
            }
        }
    }
}

@Suite struct RequestBytesTests {
    @Test func bytesPerRequestAgreeWithWhatTheServerCounted() async throws {
        let server = FlakyServer(port: try LoopbackPort.free(), requestsPerConnection: 1_000_000)
        try await server.start()
        let target = Target(host: "127.0.0.1", port: server.port)
        let plan = LoadPlan(
            targets: [target], modes: [.none], path: "/a/fixed/path", connections: 2, users: 0,
            duration: .milliseconds(800), warmup: .milliseconds(200))
        let run = try #require(ResultFile(try await LoadRunner(plan: plan).run()).runs.first)
        await server.stop()
        let traffic = server.traffic.withLock { $0 }
        let requestSize = HTTPRequestBytes(path: "/a/fixed/path", authority: target.authority).bytes.readableBytes
        let responseSize = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".utf8.count
        #expect(run.requests > 0)
        #expect(run.request_bytes == Double(requestSize))
        #expect(run.response_bytes == Double(responseSize))
        #expect(Double(traffic.received) / Double(traffic.responses) == Double(requestSize), "the server read the same bytes per request")
        #expect(Double(traffic.sent) / Double(traffic.responses) == Double(responseSize))
    }
}

@Suite struct CostReportTests {
    static func use(node: Double, redis: Double, lb: Double, calls: [String: Int], memory: Int? = nil) -> ResourceUse {
        ResourceUse(seconds: 4, cpu_us: ["node": node, "redis": redis, "lb": lb, "load": 1], redis_calls: calls, redis_memory_bytes: memory)
    }

    /// A bench folder whose capacity steps carry resources: 10,000 session and 10,000 JWT requests.
    static func folder() throws -> URL {
        let root = try BenchReportTests.benchFolder()
        for (name, mode, resources, requestBytes) in [
            ("c-none", "none", use(node: 700_000, redis: 0, lb: 100_000, calls: [:]), 76.0),
            ("b-session", "session", use(node: 1_000_000, redis: 200_000, lb: 100_000, calls: ["getex": 10_000]), 130.0),
            ("a-jwt", "jwt", use(node: 800_000, redis: 0, lb: 100_000, calls: ["ping": 2]), 450.0),
        ] {
            let url = root.appendingPathComponent(name).appendingPathComponent("result.json")
            var object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
            var runs = try #require(object["runs"] as? [[String: Any]])
            #expect(runs.count == 1 && runs[0]["mode"] as? String == mode)
            runs[0]["requests"] = 10_000
            runs[0]["request_bytes"] = requestBytes
            runs[0]["response_bytes"] = 250.0
            runs[0]["resources"] = try JSONSerialization.jsonObject(with: JSONEncoder().encode(resources))
            object["runs"] = runs
            try JSONSerialization.data(withJSONObject: object).write(to: url)
        }
        let operations = OperationCostFile(label: "HS256", target: "http://127.0.0.1:8080", operations: [
            OperationCost(operation: "login", mode: .session, count: 100, failures: 0, resources: use(node: 500_000, redis: 10_000, lb: 1_000, calls: ["evalsha": 400], memory: 40_000)),
            OperationCost(operation: "login", mode: .jwt, count: 100, failures: 0, resources: use(node: 500_000, redis: 10_000, lb: 1_000, calls: ["evalsha": 400], memory: 60_000)),
            OperationCost(operation: "refresh", mode: .jwt, count: 100, failures: 0, resources: use(node: 100_000, redis: 5_000, lb: 1_000, calls: ["evalsha": 100], memory: 30_000)),
            OperationCost(operation: "logout", mode: .jwt, count: 100, failures: 1, resources: use(node: 100_000, redis: 5_000, lb: 1_000, calls: ["evalsha": 200], memory: -50_000), revocation_list_bytes: 12_000),
        ])
        let operationsFolder = root.appendingPathComponent("hs256-operations")
        try FileManager.default.createDirectory(at: operationsFolder, withIntermediateDirectories: true)
        try JSONEncoder().encode(operations).write(to: operationsFolder.appendingPathComponent(OperationCostFile.fileName))
        return root
    }

    @Test func perRequestCostsAreThePhaseTotalsOverItsRequests() throws {
        let root = try Self.folder()
        defer { try? FileManager.default.removeItem(at: root) }
        let contenders = CostReport.perRequest(try BenchReport.steps(in: root))
        #expect(contenders.map(\.name) == ["none", "session", "jwt HS256"])
        let session = contenders[1]
        #expect(session.cpu("node") == 100 && session.cpu("redis") == 20 && session.cpu("lb") == 10)
        #expect(session.clusterCPU == 130)
        #expect(session.redisCalls == 1)
    }

    @Test func theProjectionScalesRequestsLoginsAndRefreshesLinearly() throws {
        let root = try Self.folder()
        defer { try? FileManager.default.removeItem(at: root) }
        let contenders = CostReport.perRequest(try BenchReport.steps(in: root))
        let operations = CostReport.operations(in: root, steps: try BenchReport.steps(in: root))
        #expect(operations.map(\.label) == ["HS256"])
        let projection = CostReport.Projection(rates: [100_000], loginShare: 0.01, refreshShare: 0.02, credentialLifetime: 600)
        let session = CostReport.need(contenders[1], operations: operations[0], at: 100_000, projection)
        // 100,000 requests × 100 µs + 1,000 logins × 5,000 µs = 15 s of node CPU per second.
        #expect(close(session.nodeCores, 15))
        #expect(close(session.redisCores, 2.1), "100,000 × 20 µs + 1,000 × 100 µs")
        // 1,000 logins/s living 600 s, 400 bytes each.
        #expect(close(session.redisMemoryBytes, 240_000_000))
        #expect(close(session.megabitsPerSecond, 304), "100,000 × 380 bytes × 8")
        #expect(session.includesLogins)
        let jwt = CostReport.need(contenders[2], operations: operations[0], at: 100_000, projection)
        // + 2,000 refreshes/s × 1,000 µs; memory: families 1,000/s × 600 s × 600 B, spent tokens 2,000/s × 600 s × 300 B.
        #expect(close(jwt.nodeCores, 15), "100,000 × 80 µs + 1,000 × 5,000 µs + 2,000 × 1,000 µs")
        #expect(close(jwt.redisMemoryBytes, 360_000_000 + 360_000_000))
        let noOperations = CostReport.need(contenders[1], operations: nil, at: 100_000, projection)
        #expect(close(noOperations.nodeCores, 10) && !noOperations.includesLogins)
    }

    private func close(_ value: Double, _ expected: Double) -> Bool { abs(value - expected) <= abs(expected) * 1e-9 }

    @Test func theOverviewHasTheCostTableChartAndReading() throws {
        let root = try Self.folder()
        defer { try? FileManager.default.removeItem(at: root) }
        let (report, _) = try BenchReport.write(directory: root)
        let markdown = try String(contentsOf: report, encoding: .utf8)
        #expect(markdown.contains("| session | 100 µs | 20.0 µs | 10.0 µs | 130 µs | 0.0 µs | 1.00 (getex 1.00) | 130 | 250 |"), "\(markdown)")
        #expect(markdown.contains("| HS256 | session login | 100 | 5000 µs | 100 µs | 10.0 µs | 4.00 (evalsha 4.00) | +400 B |"))
        #expect(markdown.contains("| HS256 | jwt logout | 100 (1 failed) |"))
        #expect(markdown.contains("Revocation list: +120 B (HS256) per JWT logout"))
        #expect(markdown.contains("| session | 1,000,000 | 105 | 20 | 10 | 1.4 GB | 3.0 Gbit/s |"), "10k, 100k and 1M requests/s by default, logins at 1 in 1,000 living an hour")
        #expect(markdown.contains("At 20.0 µs of Redis CPU per session request, about 50,000 session requests/s, or 50,000 with one login per 1,000 requests."))
        #expect(markdown.contains("The JWT request is 320 bytes larger on the wire"))
        #expect(markdown.contains("**What authentication adds (HS256).** Against the same cluster's unauthenticated request (80.0 µs of cluster CPU): session +50 µs, jwt HS256 +10 µs per request."))
        #expect(!markdown.contains("| none | 10,000 |"), "the projection is of the contenders, not the baseline")
        #expect(markdown.contains("**Logins (HS256).** A session login cost the nodes 5000 µs, a JWT login 5000 µs: 50 session requests' worth."))
        #expect(markdown.contains("A live session holds 400 bytes, a refresh family 600, and each refresh adds 300 until its spent token expires."))
        let svg = try Data(contentsOf: root.appendingPathComponent("cost-per-request.svg"))
        #expect(XMLParser(data: svg).parse(), "cost-per-request.svg is well-formed")
    }

    @Test func theReportCommandProjectsToTheRatesItIsGiven() throws {
        let executable = try #require(BuiltProducts.executable(named: "authbench-load"), "authbench-load is not built next to the tests")
        let root = try Self.folder()
        defer { try? FileManager.default.removeItem(at: root) }
        let run = try CommandRun.run(executable, ["report", root.path, "--project", "5000", "--login-share", "0.01", "--credential-lifetime", "600"])
        #expect(run.status == 0, "\(run.stderr)")
        // 5,000 × 100 µs + 50 logins × 5,000 µs; 50 logins/s × 600 s × 400 B.
        #expect(run.stdout.contains("| session | 5,000 | 0.75 | 0.10 | 0.05 | 12.0 MB | 15.2 Mbit/s |"), "\(run.stdout)")
        for (arguments, message) in [
            (["--project", "fast"], "authbench-load: --project: give requests per second above 0, comma-separated, e.g. 10000,100000"),
            (["--login-share", "2"], "authbench-load: --login-share and --refresh-share are shares of the requests, from 0 to 1"),
            (["--credential-lifetime", "0"], "authbench-load: --credential-lifetime must be above 0 seconds"),
        ] {
            let refused = try CommandRun.run(executable, ["report", root.path] + arguments)
            #expect(refused.status != 0)
            #expect(refused.stderr == message + "\n")
        }
    }
}
