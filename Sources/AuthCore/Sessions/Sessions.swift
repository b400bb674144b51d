/// The rules of server-side sessions: a new random id at every login, stored only as its
/// hash, an idle timeout slid on every use, and an absolute lifetime no use extends.
public struct Sessions: Sendable {
    public let store: any SessionStore
    public let clock: any AuthClock
    public let idleTimeout: Int
    public let absoluteLifetime: Int

    public init(store: any SessionStore, clock: any AuthClock, idleTimeout: Int, absoluteLifetime: Int) {
        self.store = store
        self.clock = clock
        self.idleTimeout = idleTimeout
        self.absoluteLifetime = absoluteLifetime
    }

    /// Starts a session; the returned id goes to the client and nowhere else.
    public func start(for user: UserClaims) async throws -> String {
        let id = OpaqueSecret.generate()
        let now = Int64(clock.now())
        let session = StoredSession(user: user, created: now, absoluteExpiry: now + Int64(absoluteLifetime))
        try await store.insert(session, idHash: OpaqueSecret.storageKey(of: id), idleTimeout: idleTimeout)
        return id
    }

    /// The session for `id`, or nil when the id is malformed, unknown, idle too long or past
    /// its absolute lifetime.
    public func resume(id: String) async throws -> StoredSession? {
        guard OpaqueSecret.isWellFormed(id) else { return nil }
        let idHash = OpaqueSecret.storageKey(of: id)
        guard let session = try await store.fetchSliding(idHash: idHash, idleTimeout: idleTimeout) else { return nil }
        guard Double(session.absoluteExpiry) > clock.now() else {
            try await store.remove(idHash: idHash, uid: session.user.sub)
            return nil
        }
        return session
    }

    public func end(id: String, uid: String) async throws {
        guard OpaqueSecret.isWellFormed(id) else { return }
        try await store.remove(idHash: OpaqueSecret.storageKey(of: id), uid: uid)
    }

    public func endAll(uid: String) async throws {
        try await store.removeAll(uid: uid)
    }
}
