/// The rules of refresh tokens: opaque, stored by hash, rotated on every use, and a spent
/// token presented again revokes its whole family.
public struct RefreshTokens: Sendable {
    public let store: any RefreshTokenStore
    /// Seconds a refresh token lives.
    public let lifetime: Int
    /// Seconds a family (one login) lives, however often it is refreshed.
    public let familyLifetime: Int

    public init(store: any RefreshTokenStore, lifetime: Int, familyLifetime: Int) {
        self.store = store
        self.lifetime = lifetime
        self.familyLifetime = familyLifetime
    }

    /// A token that starts a new family (one per login), and its lifetime in seconds.
    public func issue(uid: String) async throws -> (token: String, family: String, expiresIn: Int) {
        let token = OpaqueSecret.generate()
        let family = Self.newFamilyID()
        let expiresIn = try await store.startFamily(
            family, uid: uid, tokenHash: OpaqueSecret.storageKey(of: token), lifetime: lifetime, familyLifetime: familyLifetime)
        return (token, family, expiresIn)
    }

    /// Family ids are public (they prefix access-token `jti`s) and need only be unique.
    static func newFamilyID() -> String {
        String(OpaqueSecret.generate().prefix(22))
    }

    public enum Outcome: Sendable, Hashable {
        /// `expiresIn`: the new token's seconds, less than `lifetime` near the family's end.
        case rotated(newToken: String, uid: String, family: String, expiresIn: Int)
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
        case .rotated(let uid, let family, let expiresIn): return .rotated(newToken: newToken, uid: uid, family: family, expiresIn: expiresIn)
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

    /// Moves every live family of `uid` to a new id; returns the old ids, whose access tokens
    /// the caller revokes. Each login's live refresh token goes on, into the new family.
    public func renewAll(uid: String) async throws -> [String] {
        try await store.renewFamilies(uid: uid, salt: OpaqueSecret.generate())
    }
}
