import Synchronization

/// The revocations this node knows of, in memory, so checking a JWT needs no Redis call.
public final class RevocationList: Sendable {
    private struct State {
        var tokens: [String: Int64] = [:]
        var families: [String: Int64] = [:]
        var appliedSincePrune = 0
    }

    private let state = Mutex(State())
    private let clock: any AuthClock

    public init(clock: any AuthClock) {
        self.clock = clock
    }

    /// True when the token itself or its refresh family (`jti` is `<family>.<random>`) is revoked.
    /// The family key is only built when some family is revoked: it is longer than a small
    /// string, so building it would allocate on every JWT request.
    public func isRevoked(jti: String) -> Bool {
        state.withLock { state in
            if state.tokens[jti] != nil { return true }
            guard !state.families.isEmpty, let dot = jti.firstIndex(of: ".") else { return false }
            return state.families[String(jti[..<dot])] != nil
        }
    }

    public func apply(_ revocation: Revocation) {
        let now = Int64(clock.now())
        state.withLock { state in
            Self.add(revocation, to: &state)
            state.appliedSincePrune += 1
            if state.appliedSincePrune >= 1024 {
                Self.prune(&state, now: now)
            }
        }
    }

    /// Replaces everything with `revocations`, as loaded after a (re)connect.
    public func replaceAll(with revocations: [Revocation]) {
        var fresh = State()
        for revocation in revocations { Self.add(revocation, to: &fresh) }
        Self.prune(&fresh, now: Int64(clock.now()))
        state.withLock { $0 = fresh }
    }

    public var count: Int {
        state.withLock { $0.tokens.count + $0.families.count }
    }

    private static func add(_ revocation: Revocation, to state: inout State) {
        switch revocation.target {
        case .token(let jti):
            state.tokens[jti] = max(state.tokens[jti] ?? 0, revocation.until)
        case .family(let family):
            state.families[family] = max(state.families[family] ?? 0, revocation.until)
        }
    }

    private static func prune(_ state: inout State, now: Int64) {
        state.tokens = state.tokens.filter { $0.value >= now }
        state.families = state.families.filter { $0.value >= now }
        state.appliedSincePrune = 0
    }
}
