import NIOCore
import RedisClient
import ServiceLifecycle
import TestSupport
import Testing

@Suite struct RedisSubscriberTests {
    @Test(.sharedRedis) func deliversPublishedMessages() async throws {
        let configuration = try patientConfiguration(url: TestEnvironment.requireRedisURL())
        let channel = uniqueKey()
        let subscriber = RedisSubscriber(configuration: configuration, channels: [channel, channel + ":other"])
        try await withRedisClient(configuration) { (redis) async throws in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await subscriber.run() }
                var events = subscriber.events.makeAsyncIterator()
                #expect(await events.next() == .subscribed)
                try await redis.publish(channel, message: [0, 13, 10, 255] as [UInt8])
                try await redis.publish(channel + ":other", message: "second")
                #expect(await events.next() == .message(channel: channel, payload: [0, 13, 10, 255]))
                #expect(await events.next() == .message(channel: channel + ":other", payload: Array("second".utf8)))
                group.cancelAll()
            }
        }
        var after = subscriber.events.makeAsyncIterator()
        #expect(await after.next() == nil, "events finish when the service ends")
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
                    #expect(await events.next() == .subscribed)
                    try await redis.publish("revocations", message: "one")
                    #expect(await events.next() == .message(channel: "revocations", payload: Array("one".utf8)))

                    await server.kill()
                    guard case .disconnected = await events.next() else {
                        Issue.record("expected a disconnected event after the kill")
                        return
                    }
                    try await server.start()
                    var resubscribed = false
                    while let event = await events.next() {
                        if event == .subscribed {
                            resubscribed = true
                            break
                        }
                    }
                    #expect(resubscribed)
                    #expect(try await eventually { try await redis.publish("revocations", message: "two") == 1 })
                    #expect(await events.next() == .message(channel: "revocations", payload: Array("two".utf8)))
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
                guard case .disconnected(.authenticationFailed) = await events.next() else {
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
                #expect(await events.next() == .subscribed)
                #expect(try await redis.ping() == "PONG")
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
                #expect(await events.next() == nil)
                await #expect {
                    try await redis.ping()
                } throws: { error in
                    error as? RedisError == .shutdown
                }
            }
        }
    }
}
