import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import TestSupport
import Testing

/// What a client can do to a live node over a raw socket: say nothing, trickle headers, send
/// too much or garbage, open many connections. Each is refused cleanly; others are served.
@Suite(.serialized) struct ConnectionLimitTests {
    static func status(_ bytes: [UInt8]) -> Int? {
        let text = String(decoding: bytes.prefix(16), as: UTF8.self)
        guard text.hasPrefix("HTTP/1.1 ") else { return nil }
        return Int(text.dropFirst(9).prefix(3))
    }

    static func body(_ bytes: [UInt8]) -> String {
        let text = String(decoding: bytes, as: UTF8.self)
        return text.range(of: "\r\n\r\n").map { String(text[$0.upperBound...]) } ?? ""
    }

    func withLiveNode(
        idleTimeout: TimeAmount = .seconds(1), requestTimeout: TimeAmount? = nil, _ body: @Sendable (Int) async throws -> Void
    ) async throws {
        let node = try await NodeHarness.make(.inMemory, port: 0, idleTimeout: idleTimeout, requestTimeout: requestTimeout)
        try await node.test(.live) { client in
            try await body(try #require(client.port))
        }
    }

    /// `/healthz` on a connection of its own: is the node still serving others?
    static func healthz(_ port: Int) async throws -> Int? {
        let connection = try RawConnection(port: port)
        await connection.send("GET /healthz HTTP/1.1\r\nHost: n\r\nConnection: close\r\n\r\n")
        return status(await connection.receiveAll(timeout: .seconds(20)).bytes)
    }

    @Test func anIdleConnectionIsClosedWhileOthersAreServed() async throws {
        try await withLiveNode { port in
            let start = ContinuousClock.now
            let idle = try RawConnection(port: port)
            #expect(try await Self.healthz(port) == 200)
            let (_, closed) = await idle.receiveAll(timeout: .seconds(20))
            #expect(closed, "an idle connection stays open past the 1 s idle timeout")
            #expect(ContinuousClock.now - start >= .seconds(1), "closed before the idle timeout")
        }
    }

    @Test func headersTrickledByteByByteAreCutOff() async throws {
        try await withLiveNode { port in
            let start = ContinuousClock.now
            let slow = try RawConnection(port: port)
            await slow.send("GET /healthz HTTP/1.1\r\nHost: node\r\n")
            var open = true
            var servedWhileOpen = 0
            // A header byte every 100 ms keeps the idle timer from ever firing; the head deadline
            // (the 1 s idle timeout, from the connection's start) does. 20 s is only ever reached
            // when it does not.
            while open, ContinuousClock.now - start < .seconds(20) {
                let sent = await slow.send("X")
                open = sent ? await slow.receive(timeout: .milliseconds(100)) == .nothingYet : false
                if open, try await Self.healthz(port) == 200 { servedWhileOpen += 1 }
            }
            #expect(!open, "a client trickling its headers kept the connection for 20 s")
            #expect(ContinuousClock.now - start >= .seconds(1), "cut off before the head deadline")
            #expect(try await Self.healthz(port) == 200)
            #expect(servedWhileOpen >= 1, "the node served others while the trickle went on")
        }
    }

    @Test func aBodyTrickledByteByByteIsCutOffAtTheRequestDeadline() async throws {
        // Each body byte resets the idle timer (10 s here); the request deadline (1 s from the
        // connection's start) does not move. 20 s is only ever reached when it does not work.
        try await withLiveNode(idleTimeout: .seconds(10), requestTimeout: .seconds(1)) { port in
            let start = ContinuousClock.now
            let slow = try RawConnection(port: port)
            await slow.send("POST /auth/login HTTP/1.1\r\nHost: node\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
            var open = true
            while open, ContinuousClock.now - start < .seconds(20) {
                let sent = await slow.send(" ")
                open = sent ? await slow.receive(timeout: .milliseconds(100)) == .nothingYet : false
            }
            #expect(!open, "a client trickling its body kept the connection for 20 s")
            #expect(ContinuousClock.now - start >= .seconds(1), "cut off before the request deadline")
            #expect(try await Self.healthz(port) == 200)
        }
    }

    @Test func aKeptAliveClientWithinTheIdleTimeoutIsServedEveryTime() async throws {
        // The head deadline counts from the last response, so a keep-alive client that sends
        // its next request within the idle timeout is served every time: five requests 1 s apart
        // outlast the 3 s timeout, and each waits a third of it (a busy machine would have to
        // stretch a 1 s sleep to 3 s to break that).
        try await withLiveNode(idleTimeout: .seconds(3)) { port in
            let connection = try RawConnection(port: port)
            for _ in 0..<5 {
                #expect(await connection.send("GET /healthz HTTP/1.1\r\nHost: node\r\n\r\n"))
                let received = await connection.receive(timeout: .seconds(20))
                guard case .bytes(let bytes) = received else {
                    Issue.record("no response on a kept-alive connection: \(received)")
                    return
                }
                #expect(Self.status(bytes) == 200)
                try await Task.sleep(for: .seconds(1))
            }
        }
    }

    @Test func oversizedAndGarbageRequestsGet4xxAndTheNodeGoesOn() async throws {
        try await withLiveNode(idleTimeout: .seconds(5)) { port in
            let cases: [(String, [UInt8])] = [
                ("a 9 KiB header", Array("GET /healthz HTTP/1.1\r\nHost: n\r\nConnection: close\r\nX-Big: \(String(repeating: "a", count: 9 * 1024))\r\n\r\n".utf8)),
                ("a 100 KiB header", Array("GET /healthz HTTP/1.1\r\nHost: n\r\nConnection: close\r\nX-Big: \(String(repeating: "a", count: 100 * 1024))\r\n\r\n".utf8)),
                ("a 20 KiB body", Array("POST /auth/login HTTP/1.1\r\nHost: n\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 20480\r\n\r\n\(String(repeating: "x", count: 20480))".utf8)),
                ("a chunked 20 KiB body", Array("POST /auth/login HTTP/1.1\r\nHost: n\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n5000\r\n\(String(repeating: "x", count: 0x5000))\r\n0\r\n\r\n".utf8)),
                ("a body announced as 1 GiB", Array("POST /auth/login HTTP/1.1\r\nHost: n\r\nConnection: close\r\nContent-Length: 1073741824\r\n\r\nxx".utf8)),
                ("garbage", [0, 1, 2, 255, 254] + Array(" junk\r\n\r\n".utf8)),
                ("a bad request line", Array("GET\r\n\r\n".utf8)),
                ("a bad content length", Array("POST /auth/login HTTP/1.1\r\nHost: n\r\nContent-Length: -5\r\n\r\n".utf8)),
                ("HTTP/0.9, cut off by the head deadline", Array("GET /healthz\r\n".utf8)),
                ("an unknown transfer coding", Array("POST /auth/login HTTP/1.1\r\nHost: n\r\nContent-Type: application/json\r\nTransfer-Encoding: xchunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n".utf8)),
                ("a chunk size past 64 bits", Array("POST /auth/login HTTP/1.1\r\nHost: n\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nffffffffffffffffff\r\nhello\r\n0\r\n\r\n".utf8)),
                ("10,000 headers", Array(("GET /healthz HTTP/1.1\r\nHost: n\r\nConnection: close\r\n" + (0..<10_000).map { "X-\($0): 1\r\n" }.joined() + "\r\n").utf8)),
            ]
            for (name, request) in cases {
                let connection = try RawConnection(port: port)
                await connection.send(request)
                let (bytes, closed) = await connection.receiveAll(timeout: .seconds(20))
                let status = Self.status(bytes)
                if let status {
                    #expect((400..<500).contains(status), "\(name): \(status) \(Self.body(bytes).prefix(80))")
                } else {
                    #expect(closed, "\(name): neither a response nor a close")
                }
                #expect(try await Self.healthz(port) == 200, "\(name): the node stopped serving")
            }
            // Bad framing is the client's error, in JSON: met while the body is read (the router
            // answers) or in the request line (the parser refuses it before any router).
            for request in [cases[9].1, cases[10].1, cases[5].1, cases[6].1] {
                let connection = try RawConnection(port: port)
                await connection.send(request)
                let (bytes, _) = await connection.receiveAll(timeout: .seconds(20))
                #expect(Self.status(bytes) == 400, "\(String(decoding: bytes.prefix(60), as: UTF8.self))")
                #expect(Self.body(bytes).contains(#""error":"bad_request""#), "\(Self.body(bytes))")
            }
            // Headers and bodies over the contract's limits get its JSON error, also a header block
            // past the parser's own limits (one 100 KiB header, 10,000 headers).
            for request in [cases[0].1, cases[1].1, cases[11].1, cases[2].1] {
                let connection = try RawConnection(port: port)
                await connection.send(request)
                let (bytes, _) = await connection.receiveAll(timeout: .seconds(20))
                #expect(Self.status(bytes) == 413)
                #expect(Self.body(bytes).contains(#""error":"payload_too_large""#))
            }
        }
    }

    @Test func manyConnectionsAtOnceAreAllServed() async throws {
        let limit = RawConnection.raiseOpenFileLimit()
        let count = min(1000, (limit - 200) / 2)
        try #require(count >= 200, "the open-file limit \(limit) leaves too few connections")
        try await withLiveNode(idleTimeout: .seconds(10)) { port in
            var connections: [RawConnection] = []
            for _ in 0..<count { connections.append(try RawConnection(port: port)) }
            #expect(try await Self.healthz(port) == 200, "served with \(count) connections open")
            for connection in connections { await connection.send("GET /healthz HTTP/1.1\r\nHost: n\r\n\r\n") }
            var answered = 0
            for connection in connections {
                if case .bytes(let bytes) = await connection.receive(timeout: .seconds(20)), Self.status(bytes) == 200 { answered += 1 }
            }
            #expect(answered == count, "\(answered) of \(count) connections answered")
            #expect(try await Self.healthz(port) == 200)
        }
    }
}
