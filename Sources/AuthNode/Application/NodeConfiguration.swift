import AuthCore
import NIOCore
import RedisClient

/// Everything a node needs, already parsed and checked (the executable does that).
public struct NodeConfiguration: Sendable {
    /// Every default of a node's configuration; the command line's options and their `--help`
    /// (and so docs/cli.md, which a test holds to it) take theirs from here.
    public enum Defaults {
        public static let nodeID = "node-1"
        public static let host = "127.0.0.1"
        public static let port = 8081
        public static let redisURL = "redis://127.0.0.1:6379/0"
        public static let redisTimeoutMilliseconds = 1_000
        public static let keyPrefix = "ab:"
        public static let issuer = "authbench"
        public static let audience = "authbench-api"
        public static let accessTokenLifetime = 300
        public static let refreshTokenLifetime = 86_400
        public static let refreshFamilyLifetime = 2_592_000
        public static let sessionIdleTimeout = 1_800
        public static let sessionAbsoluteLifetime = 43_200
        public static let clockLeeway = 5
        public static let revocation = RevocationMode.push
        public static let revocationMaxStalenessMilliseconds = 5_000
        public static let sessionCache = SessionCacheMode.off
        public static let sessionCacheSize = 100_000
        public static let sessionCacheMaxStalenessMilliseconds = 1_000
        /// Seconds between renewals of a cached session's idle expiry: a twentieth of the idle
        /// timeout (90 s of 30 min), at least 1.
        public static func sessionTouchInterval(idleTimeout: Int) -> Int { max(1, idleTimeout / 20) }
        public static let bcryptCost = 10
        public static let loginAttemptLimit = 5
        public static let loginAttemptWindow = 300
        public static let loginAddressLimit = 100
        public static let passwordCheckQueue = 64
        /// Password checks at once: half the cores, so that a flood of logins leaves the rest to
        /// the node's other requests.
        public static var passwordCheckConcurrency: Int { max(1, System.coreCount / 2) }
        public static let idleTimeoutSeconds = 30
        public static let requestTimeoutSeconds = 30
        public static let maxConnections = 10_000
    }

    public var nodeID: String
    public var host: String
    public var port: Int
    public var redis: RedisConfiguration
    public var keys: RedisKeys
    public var keyRing: JWTKeyRing
    public var issuer: String
    public var audience: String
    /// The lifetimes and limits of the authentication rules.
    public var policy: AuthPolicy
    /// With `.tracking`, sessions are answered from memory, kept true by Redis's key tracking.
    public var sessionCache: SessionCacheMode
    /// Sessions a node keeps in memory at most.
    public var sessionCacheSize: Int
    /// Seconds between two renewals of a cached session's idle expiry in Redis.
    public var sessionTouchInterval: Int
    /// How long the invalidation feed may go unconfirmed before the cache is emptied and unused.
    public var sessionCacheMaxStaleness: TimeAmount
    public var bcryptCost: UInt8
    /// Password checks (bcrypt) at once, and waiting; a login past both gets 503.
    public var passwordCheckConcurrency: Int
    public var passwordCheckQueue: Int
    /// Take a login's client address from the last `X-Forwarded-For` entry (the one the node's
    /// own proxy appended) instead of the TCP peer.
    public var trustForwardedFor: Bool
    public var secureCookies: Bool
    public var idleTimeout: TimeAmount
    /// From a connection's start or its last response until its next request is wholly
    /// received (head and body); past it the connection is closed.
    public var requestTimeout: TimeAmount
    /// Client connections open at once; past it the node accepts no more (they wait in the
    /// listen backlog) until one ends.
    public var maxConnections: Int

    public init(
        nodeID: String = Defaults.nodeID,
        host: String = Defaults.host,
        port: Int = Defaults.port,
        redis: RedisConfiguration = RedisConfiguration(),
        keys: RedisKeys = RedisKeys(prefix: Defaults.keyPrefix),
        keyRing: JWTKeyRing,
        issuer: String = Defaults.issuer,
        audience: String = Defaults.audience,
        accessTokenLifetime: Int = Defaults.accessTokenLifetime,
        refreshTokenLifetime: Int = Defaults.refreshTokenLifetime,
        refreshFamilyLifetime: Int = Defaults.refreshFamilyLifetime,
        sessionIdleTimeout: Int = Defaults.sessionIdleTimeout,
        sessionAbsoluteLifetime: Int = Defaults.sessionAbsoluteLifetime,
        clockLeeway: Int = Defaults.clockLeeway,
        revocation: RevocationMode = Defaults.revocation,
        revocationMaxStaleness: TimeAmount = .milliseconds(Int64(Defaults.revocationMaxStalenessMilliseconds)),
        sessionCache: SessionCacheMode = Defaults.sessionCache,
        sessionCacheSize: Int = Defaults.sessionCacheSize,
        sessionTouchInterval: Int? = nil,
        sessionCacheMaxStaleness: TimeAmount = .milliseconds(Int64(Defaults.sessionCacheMaxStalenessMilliseconds)),
        bcryptCost: UInt8 = UInt8(Defaults.bcryptCost),
        loginAttemptLimit: Int = Defaults.loginAttemptLimit,
        loginAttemptWindow: Int = Defaults.loginAttemptWindow,
        loginAddressLimit: Int = Defaults.loginAddressLimit,
        passwordCheckConcurrency: Int = Defaults.passwordCheckConcurrency,
        passwordCheckQueue: Int = Defaults.passwordCheckQueue,
        trustForwardedFor: Bool = false,
        secureCookies: Bool = false,
        idleTimeout: TimeAmount = .seconds(Int64(Defaults.idleTimeoutSeconds)),
        requestTimeout: TimeAmount = .seconds(Int64(Defaults.requestTimeoutSeconds)),
        maxConnections: Int = Defaults.maxConnections
    ) {
        self.nodeID = nodeID
        self.host = host
        self.port = port
        self.redis = redis
        self.keys = keys
        self.keyRing = keyRing
        self.issuer = issuer
        self.audience = audience
        self.policy = AuthPolicy(
            accessTokenLifetime: accessTokenLifetime, refreshTokenLifetime: refreshTokenLifetime,
            refreshFamilyLifetime: refreshFamilyLifetime, clockLeeway: clockLeeway, sessionIdleTimeout: sessionIdleTimeout,
            sessionAbsoluteLifetime: sessionAbsoluteLifetime, loginAttemptLimit: loginAttemptLimit,
            loginAttemptWindow: loginAttemptWindow, loginAddressLimit: loginAddressLimit, revocation: revocation,
            revocationMaxStaleness: revocationMaxStaleness)
        self.sessionCache = sessionCache
        self.sessionCacheSize = sessionCacheSize
        self.sessionTouchInterval = sessionTouchInterval ?? Defaults.sessionTouchInterval(idleTimeout: sessionIdleTimeout)
        self.sessionCacheMaxStaleness = sessionCacheMaxStaleness
        self.passwordCheckConcurrency = passwordCheckConcurrency
        self.passwordCheckQueue = passwordCheckQueue
        self.trustForwardedFor = trustForwardedFor
        self.bcryptCost = bcryptCost
        self.secureCookies = secureCookies
        self.idleTimeout = idleTimeout
        self.requestTimeout = requestTimeout
        self.maxConnections = maxConnections
    }
}
