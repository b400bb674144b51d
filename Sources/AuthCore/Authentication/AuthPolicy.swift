/// How JWT access tokens are taken back before they expire.
public enum RevocationMode: String, Sendable, CaseIterable {
    /// Revocations are published through Redis pub/sub and checked in memory on every node.
    case push
    /// An access token stays valid until `exp`.
    case none
}

/// The lifetimes and limits the authentication rules apply; a node reads them from its
/// configuration.
public struct AuthPolicy: Sendable {
    public var accessTokenLifetime: Int
    public var clockLeeway: Int
    public var sessionIdleTimeout: Int
    public var sessionAbsoluteLifetime: Int
    public var loginAttemptLimit: Int
    public var loginAttemptWindow: Int
    public var revocation: RevocationMode

    public init(
        accessTokenLifetime: Int, clockLeeway: Int, sessionIdleTimeout: Int, sessionAbsoluteLifetime: Int,
        loginAttemptLimit: Int, loginAttemptWindow: Int, revocation: RevocationMode
    ) {
        self.accessTokenLifetime = accessTokenLifetime
        self.clockLeeway = clockLeeway
        self.sessionIdleTimeout = sessionIdleTimeout
        self.sessionAbsoluteLifetime = sessionAbsoluteLifetime
        self.loginAttemptLimit = loginAttemptLimit
        self.loginAttemptWindow = loginAttemptWindow
        self.revocation = revocation
    }
}
