import AuthCore
import CoreMetrics
import Logging
import RedisClient
import ServiceLifecycle

/// The rules a node authenticates with, over its stores, and the long-lived services behind them.
public struct AuthBackend: Sendable {
    /// The use cases: what the routes and the authenticator call.
    public let authentication: Authentication
    /// Where users are created (the `users` commands, tests).
    public let users: any UserStore
    public let passwordHasher: PasswordHasher
    /// Token issuing and verification, for tests that look inside a token.
    public let accessTokens: AccessTokens
    /// Its size is a metric.
    public let revocationList: RevocationList
    /// With `--session-cache tracking`: the node's memory of sessions.
    public let sessionCache: SessionCache?
    /// Services to run with the server (Redis client, revocation sync).
    public let services: [any Service]
    /// True when the node may take traffic: the store answers and, with push revocation,
    /// the revocation list was reloaded since the channel last (re)subscribed and is current.
    public let isReady: @Sendable () async -> Bool

    /// Everything on one shared Redis, as in production.
    public static func redis(
        _ configuration: NodeConfiguration,
        clock: any AuthClock = SystemClock(),
        metricsFactory: any MetricsFactory = MetricsSystem.factory,
        logger: Logger
    ) -> AuthBackend {
        let redis = RedisClient(
            configuration: configuration.redis, metricsFactory: metricsFactory, metricsLabelPrefix: NodeMetrics.redisLabelPrefix,
            logger: logger)
        let keys = configuration.keys
        let revocationList = RevocationList(clock: clock)
        let revocationStore = RedisRevocationStore(redis: redis, keys: keys, logger: logger)
        let revocationSync =
            configuration.policy.revocation == .push
            ? RevocationSync(
                configuration: configuration.redis, keys: keys, store: revocationStore, list: revocationList,
                clock: clock, maxStaleness: configuration.policy.revocationMaxStaleness, logger: logger)
            : nil
        var services: [any Service] = [redis] + (revocationSync.map { [$0] } ?? [])
        let sessionStore: any SessionStore
        var sessionCache: SessionCache? = nil
        switch configuration.sessionCache {
        case .off:
            sessionStore = RedisSessionStore(redis: redis, keys: keys)
        case .tracking:
            let cache = SessionCache(
                capacity: configuration.sessionCacheSize, maxStaleness: configuration.sessionCacheMaxStaleness, metricsFactory: metricsFactory)
            sessionStore = CachedSessionStore(
                redis: redis, keys: keys, cache: cache, clock: clock, touchInterval: configuration.sessionTouchInterval)
            services.append(
                SessionCacheSync(
                    configuration: configuration.redis, redis: redis, keys: keys, cache: cache,
                    idleTimeout: configuration.policy.sessionIdleTimeout, logger: logger))
            sessionCache = cache
        }
        return AuthBackend(
            configuration,
            clock: clock,
            users: RedisUserStore(redis: redis, keys: keys),
            sessionStore: sessionStore,
            sessionCache: sessionCache,
            refreshTokenStore: RedisRefreshTokenStore(redis: redis, keys: keys),
            revocationList: revocationList,
            revocationStore: revocationStore,
            loginAttempts: RedisLoginAttemptStore(redis: redis, keys: keys),
            services: services,
            isReady: {
                guard (try? await redis.ping()) != nil else { return false }
                return revocationSync?.isReady ?? true
            },
            revocationIsCurrent: { revocationSync?.isCurrent ?? true }
        )
    }

    /// In-memory twins of every store, for fast tests. Nodes that share `revocationStore`
    /// hear each other's revocations.
    public static func inMemory(
        _ configuration: NodeConfiguration,
        clock: any AuthClock,
        users: InMemoryUserStore = InMemoryUserStore(),
        revocationStore: InMemoryRevocationStore = InMemoryRevocationStore()
    ) -> AuthBackend {
        let revocationList = RevocationList(clock: clock)
        if configuration.policy.revocation == .push {
            revocationStore.register(revocationList)
        }
        return AuthBackend(
            configuration,
            clock: clock,
            users: users,
            sessionStore: InMemorySessionStore(clock: clock),
            refreshTokenStore: InMemoryRefreshTokenStore(clock: clock),
            revocationList: revocationList,
            revocationStore: revocationStore,
            loginAttempts: InMemoryLoginAttemptStore(clock: clock),
            services: [],
            isReady: { true },
            revocationIsCurrent: { true }
        )
    }

    init(
        _ configuration: NodeConfiguration,
        clock: any AuthClock,
        users: any UserStore,
        sessionStore: any SessionStore,
        sessionCache: SessionCache? = nil,
        refreshTokenStore: any RefreshTokenStore,
        revocationList: RevocationList,
        revocationStore: any RevocationStore,
        loginAttempts: any LoginAttemptStore,
        services: [any Service],
        isReady: @escaping @Sendable () async -> Bool,
        // With push revocation: the list was loaded since the last (re)connect and its channel
        // confirmed alive within the configured staleness bound. Always true otherwise.
        revocationIsCurrent: @escaping @Sendable () -> Bool
    ) {
        self.users = users
        self.passwordHasher = PasswordHasher(cost: configuration.bcryptCost)
        let sessions = Sessions(
            store: sessionStore, clock: clock,
            idleTimeout: configuration.policy.sessionIdleTimeout, absoluteLifetime: configuration.policy.sessionAbsoluteLifetime)
        let refreshTokens = RefreshTokens(
            store: refreshTokenStore, lifetime: configuration.policy.refreshTokenLifetime, familyLifetime: configuration.policy.refreshFamilyLifetime)
        self.accessTokens = AccessTokens(
            keyRing: configuration.keyRing, issuer: configuration.issuer, audience: configuration.audience,
            lifetime: configuration.policy.accessTokenLifetime, leeway: configuration.policy.clockLeeway, clock: clock)
        self.revocationList = revocationList
        self.sessionCache = sessionCache
        self.services = services
        self.isReady = isReady
        self.authentication = Authentication(
            policy: configuration.policy, users: users, passwordHasher: passwordHasher, sessions: sessions, refreshTokens: refreshTokens,
            accessTokens: accessTokens, revocationList: revocationList, revocationStore: revocationStore, loginAttempts: loginAttempts,
            passwordChecks: PasswordCheckGate(concurrent: configuration.passwordCheckConcurrency, waiting: configuration.passwordCheckQueue),
            revocationIsCurrent: revocationIsCurrent)
    }
}
