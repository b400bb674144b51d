import NIOCore

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
    public var refreshTokenLifetime: Int
    /// Seconds a login's refresh family lives, however often it is refreshed.
    public var refreshFamilyLifetime: Int
    public var clockLeeway: Int
    public var sessionIdleTimeout: Int
    public var sessionAbsoluteLifetime: Int
    public var loginAttemptLimit: Int
    public var loginAttemptWindow: Int
    /// Failed logins per client address per `loginAttemptWindow`, on all nodes together; 0: no limit.
    public var loginAddressLimit: Int
    public var revocation: RevocationMode
    /// With push revocation: how long the revocation channel may go unconfirmed (no PING
    /// answered on it) before access tokens are refused and the node is not ready.
    public var revocationMaxStaleness: TimeAmount

    public init(
        accessTokenLifetime: Int, refreshTokenLifetime: Int, refreshFamilyLifetime: Int, clockLeeway: Int,
        sessionIdleTimeout: Int, sessionAbsoluteLifetime: Int, loginAttemptLimit: Int, loginAttemptWindow: Int,
        loginAddressLimit: Int, revocation: RevocationMode, revocationMaxStaleness: TimeAmount
    ) {
        self.accessTokenLifetime = accessTokenLifetime
        self.refreshTokenLifetime = refreshTokenLifetime
        self.refreshFamilyLifetime = refreshFamilyLifetime
        self.clockLeeway = clockLeeway
        self.sessionIdleTimeout = sessionIdleTimeout
        self.sessionAbsoluteLifetime = sessionAbsoluteLifetime
        self.loginAttemptLimit = loginAttemptLimit
        self.loginAttemptWindow = loginAttemptWindow
        self.loginAddressLimit = loginAddressLimit
        self.revocation = revocation
        self.revocationMaxStaleness = revocationMaxStaleness
    }
}
