/// The rules of refresh tokens: opaque, stored by hash, rotated on every use, and a spent
/// token presented again revokes its whole family.
public struct RefreshTokens: Sendable {
    public let store: any RefreshTokenStore
    public let lifetime: Int

    public init(store: any RefreshTokenStore, lifetime: Int) {
        self.store = store
        self.lifetime = lifetime
    }

    /// A token that starts a new family (one per login).
    public func issue(uid: String) async throws -> (token: String, family: String) {
        let token = OpaqueSecret.generate()
        let family = Self.newFamilyID()
        try await store.startFamily(family, uid: uid, tokenHash: OpaqueSecret.storageKey(of: token), lifetime: lifetime)
        return (token, family)
    }

    /// Family ids are public (they prefix access-token `jti`s) and need only be unique.
    static func newFamilyID() -> String {
        String(OpaqueSecret.generate().prefix(22))
    }

    public enum Outcome: Sendable, Hashable {
        case rotated(newToken: String, uid: String, family: String)
        /// A spent token came back: its whole family is revoked.
        case reuseDetected(uid: String, family: String)
        case invalid
    }

    public func rotate(_ token: some StringProtocol) async throws -> Outcome {
        guard OpaqueSecret.isWellFormed(token) else { return .invalid }
        let newToken = OpaqueSecret.generate()
        switch try await store.rotate(
            tokenHash: OpaqueSecret.storageKey(of: token),
            newTokenHash: OpaqueSecret.storageKey(of: newToken),
            lifetime: lifetime
        ) {
        case .rotated(let uid, let family): return .rotated(newToken: newToken, uid: uid, family: family)
        case .reuseDetected(let uid, let family): return .reuseDetected(uid: uid, family: family)
        case .invalid: return .invalid
        }
    }

    public func revokeFamily(_ family: String) async throws {
        try await store.revokeFamily(family)
    }

    /// Revokes every family of `uid`; returns their ids, for revoking their access tokens too.
    public func revokeAll(uid: String) async throws -> [String] {
        try await store.revokeAllFamilies(uid: uid)
    }
}
