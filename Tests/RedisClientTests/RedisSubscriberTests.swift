import NIOCore
import RedisClient
import ServiceLifecycle
import TestSupport
import Testing

@Suite struct RedisSubscriberTests {
    @Test func pingsFourTimesWithinTheStalenessBoundAndAtLeastEverySecond() {
        #expect(RedisSubscriber.pingInterval(forStaleness: .seconds(2)) == .milliseconds(500))
        #expect(RedisSubscriber.pingInterval(forStaleness: .milliseconds(1000)) == .milliseconds(250))
        #expect(RedisSubscriber.pingInterval(forStaleness: .seconds(15)) == .seconds(1))
        #expect(RedisSubscriber.pingInterval(forStaleness: .seconds(3600)) == .seconds(1))
        #expect(RedisSubscriber.pingInterval(forStaleness: .milliseconds(1)) == .milliseconds(10))
    }

    @Test(.sharedRedis) func deliversPublishedMessages() async throws {
        let configuration = try patientConfiguration(url: TestEnvironment.requireRedisURL())
        let channel = uniqueKey()
        let subscriber = RedisSubscriber(configuration: configuration, channels: [channel, channel + ":other"])
        try await withRedisClient(configuration) { (redis) async throws in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await subscriber.run() }
                var events = subscriber.events.makeAsyncIterator()
                #expect(await events.nextSkippingConfirmations() == .subscribed)
                try await redis.publish(channel, message: [0, 13, 10, 255] as [UInt8])
                try await redis.publish(channel + ":other", message: "second")
                #expect(await events.nextSkippingConfirmations() == .message(channel: channel, payload: [0, 13, 10, 255]))
                #expect(await events.nextSkippingConfirmations() == .message(channel: channel + ":other", payload: Array("second".utf8)))
                group.cancelAll()
            }
        }
        var after = subscriber.events.makeAsyncIterator()
        #expect(await after.nextSkippingConfirmations() == nil, "events finish when the service ends")
    }

    @Test(.ownRedisServer) func resubscribesAfterRedisRestarts() async throws {
        try await RedisServerProcess.with(extraArguments: ["--requirepass", "pubsub-secret"]) { (server) async throws in
            var configuration = try patientConfiguration(url: "redis://:pubsub-secret@127.0.0.1:\(server.port)")
            configuration.maximumBackoff = .milliseconds(100)
            let subscriber = RedisSubscriber(configuration: configuration, channels: ["revocations"])
            try await withRedisClient(configuration) { (redis) async throws in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await subscriber.run() }
                    var events = subscriber.events.makeAsyncIterator()
                    #expect(await events.nextSkippingConfirmations() == .subscribed)
                    try await redis.publish("revocations", message: "one")
                    #expect(await events.nextSkippingConfirmations() == .message(channel: "revocations", payload: Array("one".utf8)))

                    await server.kill()
                    guard case .disconnected = await events.nextSkippingConfirmations() else {
                        Issue.record("expected a disconnected event after the kill")
                        return
                    }
                    try await server.start()
                    #expect(await events.next(where: { $0 == .subscribed }) != nil, "resubscribed")
                    #expect(try await eventually { try await redis.publish("revocations", message: "two") == 1 })
                    #expect(await events.nextSkippingConfirmations() == .message(channel: "revocations", payload: Array("two".utf8)))
                    group.cancelAll()
                }
            }
        }
    }

    @Test(.ownRedisServer) func wrongPasswordIsReportedAsAuthenticationFailure() async throws {
        try await RedisServerProcess.with(extraArguments: ["--requirepass", "right"]) { (server) async throws in
            let configuration = try RedisConfiguration(url: "redis://:wrong@127.0.0.1:\(server.port)")
            let subscriber = RedisSubscriber(configuration: configuration, channels: ["c"])
            await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await subscriber.run() }
                var events = subscriber.events.makeAsyncIterator()
                guard case .disconnected(.authenticationFailed) = await events.nextSkippingConfirmations() else {
                    Issue.record("expected an authentication failure")
                    group.cancelAll()
                    return
                }
                group.cancelAll()
            }
        }
    }

    @Test(.ownRedisServer) func servicesEndOnGracefulShutdown() async throws {
        try await RedisServerProcess.with { (server) async throws in
            let configuration = try patientConfiguration(url: server.url)
            let redis = RedisClient(configuration: configuration)
            let subscriber = RedisSubscriber(configuration: configuration, channels: ["c"])
            let group = ServiceGroup(services: [redis, subscriber], logger: .init(label: "test"))
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                var events = subscriber.events.makeAsyncIterator()
                #expect(await events.nextSkippingConfirmations() == .subscribed)
                #expect(try await redis.ping() == "PONG")
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
                #expect(await events.nextSkippingConfirmations() == nil)
                await #expect {
                    try await redis.ping()
                } throws: { error in
                    error as? RedisError == .shutdown
                }
            }
        }
    }

    @Test(.ownRedisServer) func aStalledServerIsFoundByItsPingsAndTheSubscriptionComesBack() async throws {
        try await RedisServerProcess.with { (server) async throws in
            var configuration = try patientConfiguration(url: server.url)
            // Reconnecting to the stalled server times out its handshake; a short bound keeps the test short.
            configuration.connectTimeout = .seconds(1)
            configuration.maximumBackoff = .milliseconds(100)
            // Three PINGs unanswered end the connection: 1.5 s of silence, far more than a busy
            // machine's late PONG.
            let subscriber = RedisSubscriber(configuration: configuration, channels: ["c"], pingInterval: .milliseconds(500))
            try await withPatientRedisClient(url: server.url) { (redis) async throws in
                try await withThrowingTaskGroup(of: Void.self) { (group) async throws in
                    group.addTask { try await subscriber.run() }
                    var events = subscriber.events.makeAsyncIterator()
                    #expect(await events.next() == .subscribed)
                    // PINGs are answered: each confirms the channel up to its send, later each time.
                    var confirmations: [NIODeadline] = []
                    while confirmations.count < 2, let event = await events.next() {
                        if case .confirmed(let upTo) = event { confirmations.append(upTo) }
                    }
                    #expect(confirmations.count == 2 && confirmations[0] < confirmations[1], "\(confirmations)")

                    // SIGSTOP right after a confirmation: the connection stays open and says nothing.
                    server.pause()
                    let lost = await events.next(where: { if case .disconnected = $0 { true } else { false } })
                    #expect(lost == .disconnected(.timeout), "unanswered PINGs end the connection: \(String(describing: lost))")

                    server.resume()
                    #expect(await events.next(where: { $0 == .subscribed }) != nil, "subscribed again")
                    #expect(try await eventually { try await redis.publish("c", message: "after") == 1 })
                    #expect(await events.nextSkippingConfirmations() == .message(channel: "c", payload: Array("after".utf8)))
                    group.cancelAll()
                }
            }
        }
    }
}

extension AsyncStream<RedisSubscriberEvent>.Iterator {
    /// The next event that is not a PING's confirmation.
    mutating func nextSkippingConfirmations() async -> RedisSubscriberEvent? {
        await next(where: { if case .confirmed = $0 { false } else { true } })
    }

    /// The next event that `matches`, those before it skipped.
    mutating func next(where matches: (RedisSubscriberEvent) -> Bool) async -> RedisSubscriberEvent? {
        while let event = await next() {
            if matches(event) { return event }
        }
        return nil
    }
}
