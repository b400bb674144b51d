import Foundation
@testable import LoadEngine
@testable import LoadReports
@testable import LoadScenarios
@testable import TCPDelayProxy
import NIOCore
import NIOPosix
import TestSupport
import Testing

/// The delay proxy in front of the test Redis: the delay is there in each direction, bytes
/// never reorder even with jitter, and the control line changes the delay while it runs.
@Suite(.sharedRedis) struct DelayProxyTests {
    func withProxy(delay: DelayProxy.Delay, _ body: (Int, DelayProxy) async throws -> Void) async throws {
        let url = try TestEnvironment.requireRedisURL()
        let port = Int(url.split(separator: ":").last!.split(separator: "/").first!)!
        // Its own event loop: the load tests keep the shared loops busy, which would time them, not the proxy.
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let proxy = DelayProxy(upstreamHost: "127.0.0.1", upstreamPort: port, delay: delay, group: group)
        let server = try await proxy.listen(host: "127.0.0.1", port: 0)
        do {
            try await body(try #require(server.localAddress?.port), proxy)
            try await server.close()
            try await group.shutdownGracefully()
        } catch {
            try? await server.close()
            try? await group.shutdownGracefully()
            throw error
        }
    }

    /// Sends `count` PINGs at once and waits for as many PONGs; returns the elapsed time.
    func pings(_ count: Int, through port: Int) async throws -> (Duration, String) {
        let connection = try RawConnection(port: port)
        let start = ContinuousClock.now
        await connection.send(String(repeating: "PING\r\n", count: count))
        var received = ""
        while received.components(separatedBy: "\r\n").count - 1 < count {
            guard case .bytes(let bytes) = await connection.receive(timeout: .seconds(20)) else { break }
            received += String(decoding: bytes, as: UTF8.self)
        }
        return (ContinuousClock.now - start, received)
    }

    @Test func eachDirectionIsDelayed() async throws {
        try await withProxy(delay: .init(base: .milliseconds(25))) { port, _ in
            let (elapsed, reply) = try await pings(1, through: port)
            #expect(reply == "+PONG\r\n")
            #expect(elapsed >= .milliseconds(50), "one round trip through 25 ms each way took \(elapsed)")
        }
    }

    @Test func jitterNeverReordersBytes() async throws {
        try await withProxy(delay: .init(base: .milliseconds(2), jitter: .milliseconds(2))) { port, _ in
            for _ in 0..<20 {
                let connection = try RawConnection(port: port)
                // Many small writes, each its own chunk, each with its own jittered delay.
                for index in 0..<30 { await connection.send("ECHO \(index)\r\n") }
                var received = ""
                while received.components(separatedBy: "\r\n").count - 1 < 60 {
                    guard case .bytes(let bytes) = await connection.receive(timeout: .seconds(20)) else { break }
                    received += String(decoding: bytes, as: UTF8.self)
                }
                let expected = (0..<30).map { "$\(String($0).count)\r\n\($0)\r\n" }.joined()
                #expect(received == expected)
            }
        }
    }

    /// `stall feed` holds every byte of the connections that subscribed, both ways, and closes
    /// nothing; other connections go on; `resume feed` lets the held bytes through in order.
    @Test func aStalledFeedHoldsOnlyTheSubscribersAndClosesNothing() async throws {
        try await withProxy(delay: .init(base: .zero)) { port, proxy in
            let channel = "feed-test-\(UUID().uuidString)"
            let subscriber = try RawConnection(port: port)
            _ = await subscriber.send("SUBSCRIBE \(channel)\r\n")
            guard case .bytes(let confirmation) = await subscriber.receive(timeout: .seconds(10)) else {
                Issue.record("no SUBSCRIBE confirmation")
                return
            }
            #expect(String(decoding: confirmation, as: UTF8.self).contains("subscribe"))
            let commands = try RawConnection(port: port)

            #expect(proxy.control("stall feed") == "ok feed stalled")
            _ = await commands.send("PUBLISH \(channel) held-message\r\n")
            #expect(await commands.receive(timeout: .seconds(10)) == .bytes(Array(":1\r\n".utf8)), "the publisher's connection was held")
            _ = await subscriber.send("PING\r\n")
            // Held, not lost: while stalled nothing can reach the subscriber, however long it waits.
            #expect(await subscriber.receive(timeout: .milliseconds(300)) == .nothingYet)

            #expect(proxy.control("resume feed") == "ok feed resumed")
            var received = ""
            while !received.contains("held-message") || !received.contains("pong") {
                guard case .bytes(let bytes) = await subscriber.receive(timeout: .seconds(10)) else { break }
                received += String(decoding: bytes, as: UTF8.self)
            }
            #expect(received.contains("held-message") && received.contains("pong"), "\(received)")
            #expect(received.range(of: "held-message")!.lowerBound < received.range(of: "pong")!.lowerBound)
        }
    }

    @Test func theControlLineChangesTheDelay() async throws {
        try await withProxy(delay: .init(base: .zero)) { port, proxy in
            // Lower bounds only: on a busy machine a round trip can take long, never shorter than its
            // delays (so the round trip before the change is not compared with the one after it).
            #expect(proxy.control("get") == "ok 0.0 ms")
            #expect(try await pings(1, through: port).1 == "+PONG\r\n")
            #expect(proxy.control("delay 300ms") == "ok 300.0 ms")
            let after = try await pings(1, through: port).0
            #expect(after >= .milliseconds(600))
            #expect(proxy.control("delay 1ms jitter 0.5ms") == "ok 1.0 ms ± 0.5 ms")
            #expect(proxy.control("delay fast").hasPrefix("error"))
            #expect(proxy.control("get") == "ok 1.0 ms ± 0.5 ms")
        }
    }
}
