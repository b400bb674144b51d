/// How long a test waits for something that should happen by itself (a reconnect, a pub/sub
/// message, a node becoming ready). Generous on purpose: a wait ends as soon as its condition
/// holds, so only a broken behaviour ever waits this long, and a machine four times slower
/// with a CPU hog beside it still gets there well within it.
public let eventuallyDeadline: Duration = .seconds(30)

/// Retries `body` until it does not throw, for up to `within`; true when it succeeded.
public func eventually(within: Duration = eventuallyDeadline, _ body: () async throws -> Void) async throws -> Bool {
    let deadline = ContinuousClock.now + within
    while true {
        do {
            try await body()
            return true
        } catch {
            guard ContinuousClock.now < deadline else { return false }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

/// Retries `body` until it returns true, for up to `within`; true when it did.
public func eventually(within: Duration = eventuallyDeadline, _ body: () async throws -> Bool) async throws -> Bool {
    try await eventually(within: within) { () async throws -> Void in
        guard try await body() else { throw TestSupportError("not yet") }
    }
}
