import Synchronization

/// Admits at most `concurrent` password checks at once and `waiting` more in line; a login
/// past that is refused at once rather than queued. bcrypt is the one thing a client can make a
/// node do at will that costs tens of milliseconds of CPU, so a flood of logins with random
/// usernames must not take every core from the node's other requests.
public final class PasswordCheckGate: Sendable {
    public struct Full: Error, Sendable {}

    private struct State {
        var running = 0
        var line: [CheckedContinuation<Bool, Never>] = []
    }

    public let concurrent: Int
    public let waiting: Int
    private let state = Mutex(State())

    public init(concurrent: Int, waiting: Int) {
        precondition(concurrent >= 1 && waiting >= 0, "a password check gate admits at least one check")
        self.concurrent = concurrent
        self.waiting = waiting
    }

    /// Runs `check` once admitted; throws `Full` when `concurrent` checks run and `waiting` wait.
    public func run<T: Sendable>(_ check: () async throws -> T) async throws -> T {
        try await enter()
        do {
            let result = try await check()
            leave()
            return result
        } catch {
            leave()
            throw error
        }
    }

    private func enter() async throws {
        let admitted = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let decision = state.withLock { state -> Bool? in
                if state.running < concurrent {
                    state.running += 1
                    return true
                }
                guard state.line.count < waiting else { return false }
                state.line.append(continuation)
                return nil
            }
            if let decision { continuation.resume(returning: decision) }
        }
        guard admitted else { throw Full() }
    }

    /// Hands the slot to the first in line, or frees it.
    private func leave() {
        let next = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            if state.line.isEmpty {
                state.running -= 1
                return nil
            }
            return state.line.removeFirst()
        }
        next?.resume(returning: true)
    }

    /// Checks running and waiting now.
    public var load: (running: Int, waiting: Int) {
        state.withLock { ($0.running, $0.line.count) }
    }
}
