import NIOCore
import RedisClient
import TestSupport
import Testing

@Suite(.ownRedisServer) struct RedisFaultTests {
    /// `commandTimeout` is the one a test is about; connecting has `patientTimeout`.
    private func configuration(_ server: RedisServerProcess, commandTimeout: TimeAmount = patientTimeout) throws -> RedisConfiguration {
        var configuration = try patientConfiguration(url: server.url)
        configuration.commandTimeout = commandTimeout
        configuration.maximumBackoff = .milliseconds(200)
        return configuration
    }

    @Test func killedRedisFailsInFlightCallsAtOnceAndTheClientRecoversAfterRestart() async throws {
        try await RedisServerProcess.with { (server) async throws in
            // A command timeout far longer than any machine needs to see a refused connection:
            // a call that fails before it, with an error other than the timeout, failed because
            // the connection dropped.
            let timeoutMilliseconds = Double(patientTimeout.nanoseconds) / 1e6
            try await withRedisClient(try configuration(server)) { (redis) async throws in
                let key = uniqueKey()
                try await redis.set(key, to: "before")

                let clock = ContinuousClock()
                let outcomes = try await withThrowingTaskGroup(of: (succeeded: Bool, milliseconds: Double, error: RedisError?).self) { group in
                    for worker in 0..<32 {
                        group.addTask {
                            var last: (succeeded: Bool, milliseconds: Double, error: RedisError?) = (true, 0, nil)
                            for _ in 0..<2000 {
                                let start = clock.now
                                do {
                                    _ = try await redis.get("\(key):\(worker)")
                                } catch {
                                    return (false, (clock.now - start).milliseconds, error as? RedisError)
                                }
                                last = (true, (clock.now - start).milliseconds, nil)
                            }
                            return last
                        }
                    }
                    try await Task.sleep(for: .milliseconds(200))
                    await server.kill()
                    var outcomes: [(succeeded: Bool, milliseconds: Double, error: RedisError?)] = []
                    for try await outcome in group { outcomes.append(outcome) }
                    return outcomes
                }
                #expect(outcomes.allSatisfy { !$0.succeeded }, "every worker saw its call fail when Redis died")
                #expect(outcomes.allSatisfy { $0.error?.isUnavailable == true && $0.error != .timeout }, "\(outcomes.compactMap(\.error))")
                #expect(outcomes.allSatisfy { $0.milliseconds < timeoutMilliseconds }, "failed before the command timeout: \(outcomes.map(\.milliseconds).max() ?? 0) ms")

                // Down: calls fail with a typed error that says so, before the timeout; nothing crashes or hangs.
                let start = clock.now
                await #expect {
                    try await redis.get(key)
                } throws: { error in
                    (error as? RedisError)?.isUnavailable == true && error as? RedisError != .timeout
                }
                #expect((clock.now - start).milliseconds < timeoutMilliseconds)

                try await server.start()
                let recovered = try await eventually { try await redis.set(key, to: "after") }
                #expect(recovered)
                #expect(try await redis.get(key) == Array("after".utf8))
            }
        }
    }

    @Test func stalledRedisTimesOutAndTheDeadConnectionIsReplaced() async throws {
        try await RedisServerProcess.with { (server) async throws in
            // 2 s: the commands before the pause have that long on a busy machine.
            var settings = try configuration(server, commandTimeout: .seconds(2))
            settings.poolSize = 1
            try await withRedisClient(settings) { (redis) async throws in
                let key = uniqueKey()
                try await redis.set(key, to: "v")
                let connectionBefore = try await redis.send(RedisCommand("CLIENT", "ID")).integer
                server.pause()
                let clock = ContinuousClock()
                let start = clock.now
                await #expect {
                    try await redis.get(key)
                } throws: { error in
                    error as? RedisError == .timeout
                }
                let elapsed = (clock.now - start).milliseconds
                #expect(elapsed >= 2_000, "a timeout never fires before its time: \(elapsed) ms")
                #expect(elapsed < 2_000 * 10, "a timeout, not a hang: \(elapsed) ms")
                server.resume()
                #expect(try await eventually { _ = try await redis.get(key) })
                #expect(try await redis.get(key) == Array("v".utf8))
                let connectionAfter = try await redis.send(RedisCommand("CLIENT", "ID")).integer
                #expect(connectionAfter != connectionBefore, "a connection that answered nothing for a whole timeout is replaced")
            }
        }
    }

    @Test func aReplySlowerThanTheTimeoutFailsItsConnectionAndNoReplyReachesTheWrongCaller() async throws {
        try await RedisServerProcess.with { (server) async throws in
            // The GET is queued behind the BLPOP 50 ms after it; the 3 s timeout leaves a busy
            // machine seconds to do that before the BLPOP times out.
            var settings = try configuration(server, commandTimeout: .seconds(3))
            settings.poolSize = 1
            try await withRedisClient(settings) { (redis) async throws in
                let key = uniqueKey()
                try await redis.set(key, to: "after the slow one")
                let connectionBefore = try await redis.send(RedisCommand("CLIENT", "ID")).integer
                let blpopAnswersAt = ContinuousClock.now + .seconds(5)
                let slow = Task { try await redis.send(RedisCommand("BLPOP", key + ":empty", "5")) }
                try await Task.sleep(for: .milliseconds(50))
                let quick = Task { try await redis.get(key) }
                await #expect(throws: RedisError.timeout) { try await slow.value }
                // Queued behind BLPOP on the same connection, the GET fails with it.
                await #expect(throws: RedisError.timeout) { try await quick.value }
                // Past the moment Redis answers the BLPOP (nil) on the old connection.
                try await Task.sleep(until: blpopAnswersAt + .milliseconds(200))
                // The late BLPOP and GET replies went down with the old connection, not to new callers.
                #expect(try await eventually { _ = try await redis.ping() })
                #expect(try await redis.get(key) == Array("after the slow one".utf8))
                #expect(try await redis.send(RedisCommand("CLIENT", "ID")).integer != connectionBefore)
            }
        }
    }

    @Test func redisAbsentAtStartIsAnErrorThenWorksOnceItStarts() async throws {
        let server = try RedisServerProcess()
        do {
            try await withRedisClient(try configuration(server)) { (redis) async throws in
                await #expect {
                    try await redis.ping()
                } throws: { error in
                    guard case .connectionFailed(let reason) = error as? RedisError else { return false }
                    return reason.contains("127.0.0.1:\(server.port)")
                }
                await #expect(throws: RedisError.self) { try await redis.connect() }
                try await server.start()
                #expect(try await eventually { _ = try await redis.ping() })
            }
            await server.remove()
        } catch {
            await server.remove()
            throw error
        }
    }

    @Test func authAndSelectOnEveryConnect() async throws {
        try await RedisServerProcess.with(extraArguments: ["--requirepass", "right-password"]) { (server) async throws in
            var wrong = try configuration(server)
            wrong.password = "wrong-password"
            _ = try await withRedisClient(wrong) { (redis) async throws in
                await #expect {
                    try await redis.ping()
                } throws: { error in
                    guard case .authenticationFailed(let message) = error as? RedisError else { return false }
                    return message.contains("WRONGPASS") || message.contains("invalid")
                }
            }

            var missing = try configuration(server)
            missing.password = nil
            _ = try await withRedisClient(missing) { (redis) async throws in
                await #expect {
                    try await redis.ping()
                } throws: { error in
                    guard case .authenticationFailed = error as? RedisError else { return false }
                    return true
                }
            }

            let right = try patientConfiguration(url: "redis://:right-password@127.0.0.1:\(server.port)/5")
            try await withRedisClient(right) { (redis) async throws in
                let key = uniqueKey()
                try await redis.set(key, to: "in db 5")
                #expect(try await redis.send(RedisCommand("CLIENT", "INFO")).string?.contains("db=5") == true)
                // After a restart the client authenticates and selects again by itself.
                await server.kill()
                try await server.start()
                #expect(try await eventually { try await redis.set(key, to: "again") })
                #expect(try await redis.send(RedisCommand("CLIENT", "INFO")).string?.contains("db=5") == true)
            }
        }
    }

    @Test func scriptsAreReloadedAfterARestart() async throws {
        try await RedisServerProcess.with { (server) async throws in
            try await withRedisClient(try configuration(server)) { (redis) async throws in
                let script = RedisScript("return redis.call('INCR', KEYS[1])")
                #expect(try await redis.evalScript(script, keys: ["n"]) == .integer(1))
                await server.kill()
                try await server.start()
                #expect(try await eventually { _ = try await redis.ping() })
                #expect(try await redis.evalScript(script, keys: ["n"]) == .integer(1))
            }
        }
    }

    @Test func shutdownFailsLaterCalls() async throws {
        try await RedisServerProcess.with { (server) async throws in
            let redis = RedisClient(configuration: try configuration(server))
            #expect(try await redis.ping() == "PONG")
            await redis.shutdown()
            await #expect {
                try await redis.ping()
            } throws: { error in
                error as? RedisError == .shutdown
            }
        }
    }
}
