import AuthCore
import Synchronization
import TestSupport
import Testing

/// At most `concurrent` checks run and `waiting` wait; one more is refused at once; the line
/// runs as checks end.
@Suite struct PasswordCheckGateTests {
    /// How many checks run now, the most that ever ran at once, and how many ran.
    final class Running: Sendable {
        let state = Mutex((now: 0, most: 0, ran: 0))
    }

    @Test func checksPastTheLineAreRefusedAndEveryOneInLineRuns() async throws {
        let gate = PasswordCheckGate(concurrent: 2, waiting: 3)
        let latch = Latch()
        let running = Running()
        let checks = (0..<5).map { _ in
            Task {
                try await gate.run {
                    running.state.withLock { $0.now += 1; $0.most = max($0.most, $0.now); $0.ran += 1 }
                    await latch.wait()
                    running.state.withLock { $0.now -= 1 }
                }
            }
        }
        let full = try await eventually { gate.load == (running: 2, waiting: 3) }
        #expect(full, "\(gate.load)")
        await #expect(throws: PasswordCheckGate.Full.self) { try await gate.run { 0 } }
        latch.open()
        for check in checks { try await check.value }
        let seen = running.state.withLock { $0 }
        #expect(seen.most == 2)
        #expect(seen.ran == 5)
        #expect(gate.load == (running: 0, waiting: 0))
        #expect(try await gate.run { 7 } == 7)
    }

    @Test func aFailedCheckFreesItsSlot() async throws {
        struct Broken: Error {}
        let gate = PasswordCheckGate(concurrent: 1, waiting: 0)
        await #expect(throws: Broken.self) { try await gate.run { throw Broken() } }
        #expect(gate.load == (running: 0, waiting: 0))
        #expect(try await gate.run { "next" } == "next")
    }
}
