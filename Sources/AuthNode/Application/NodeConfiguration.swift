import AuthCore
import Logging
import NIOCore
import RedisClient

/// How JWT access tokens are taken back before they expire.
public enum RevocationMode: String, Sendable, CaseIterable {
    /// Revocations are published through Redis pub/sub and checked in memory on every node.
    case push
    /// An access token stays valid until `exp`.
    case none
}

/// Everything a node needs, already parsed and checked (the executable does that).
public struct NodeConfiguration: Sendable {
    public var nodeID: String
    public var host: String
    public var port: Int
    public var redis: RedisConfiguration
    public var keys: RedisKeys
    public var keyRing: JWTKeyRing
    public var issuer: String
    public var audience: String
    public var accessTokenLifetime: Int
    public var refreshTokenLifetime: Int
    /// Seconds a login's refresh family lives, however often it is refreshed.
    public var refreshFamilyLifetime: Int
    public var sessionIdleTimeout: Int
    public var sessionAbsoluteLifetime: Int
    public var clockLeeway: Int
    public var revocation: RevocationMode
    /// With push revocation: how long the revocation channel may go unconfirmed (no PING
    /// answered on it) before the node refuses access tokens with 503 and is not ready.
    public var revocationMaxStaleness: TimeAmount
    public var bcryptCost: UInt8
    public var loginAttemptLimit: Int
    public var loginAttemptWindow: Int
    public var secureCookies: Bool
    public var idleTimeout: TimeAmount
    /// From a connection's start or its last response until its next request is wholly
    /// received (head and body); past it the connection is closed.
    public var requestTimeout: TimeAmount
    /// Client connections open at once; past it the node accepts no more (they wait in the
    /// listen backlog) until one ends.
    public var maxConnections: Int
    public var logLevel: Logger.Level

    public init(
        nodeID: String = "node-1",
        host: String = "127.0.0.1",
        port: Int = 8081,
        redis: RedisConfiguration = RedisConfiguration(),
        keys: RedisKeys = RedisKeys(),
        keyRing: JWTKeyRing,
        issuer: String = "authbench",
        audience: String = "authbench-api",
        accessTokenLifetime: Int = 300,
        refreshTokenLifetime: Int = 86_400,
        refreshFamilyLifetime: Int = 2_592_000,
        sessionIdleTimeout: Int = 1_800,
        sessionAbsoluteLifetime: Int = 43_200,
        clockLeeway: Int = 5,
        revocation: RevocationMode = .push,
        revocationMaxStaleness: TimeAmount = .seconds(5),
        bcryptCost: UInt8 = 10,
        loginAttemptLimit: Int = 5,
        loginAttemptWindow: Int = 300,
        secureCookies: Bool = false,
        idleTimeout: TimeAmount = .seconds(30),
        requestTimeout: TimeAmount = .seconds(30),
        maxConnections: Int = 10_000,
        logLevel: Logger.Level = .info
    ) {
        self.nodeID = nodeID
        self.host = host
        self.port = port
        self.redis = redis
        self.keys = keys
        self.keyRing = keyRing
        self.issuer = issuer
        self.audience = audience
        self.accessTokenLifetime = accessTokenLifetime
        self.refreshTokenLifetime = refreshTokenLifetime
        self.refreshFamilyLifetime = refreshFamilyLifetime
        self.sessionIdleTimeout = sessionIdleTimeout
        self.sessionAbsoluteLifetime = sessionAbsoluteLifetime
        self.clockLeeway = clockLeeway
        self.revocation = revocation
        self.revocationMaxStaleness = revocationMaxStaleness
        self.bcryptCost = bcryptCost
        self.loginAttemptLimit = loginAttemptLimit
        self.loginAttemptWindow = loginAttemptWindow
        self.secureCookies = secureCookies
        self.idleTimeout = idleTimeout
        self.requestTimeout = requestTimeout
        self.maxConnections = maxConnections
        self.logLevel = logLevel
    }
}
