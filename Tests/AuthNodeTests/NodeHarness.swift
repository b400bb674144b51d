import AuthCore
import AuthNode
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Prometheus
import RedisClient
import TestSupport
import Testing

enum BackendKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case inMemory
    case redis

    var testDescription: String { rawValue }

    /// In-memory always; Redis when scripts/test gave one (or CI demands it).
    static var available: [BackendKind] {
        TestEnvironment.redisURL != nil || TestEnvironment.isCI ? [.inMemory, .redis] : [.inMemory]
    }
}

/// One node on a chosen backend, with a reader and a writer seeded, a fixed HS256 key and,
/// for the in-memory backend, a clock tests can move.
struct NodeHarness {
    static let password = "correct horse battery staple"
    static let secret = Array("a test secret of at least thirty-two bytes!".utf8)
    /// Redis command and connect timeout: long enough that a busy machine never reaches it by
    /// being slow, so a test that sees a request fail before it saw the failure it caused.
    static let redisTimeout = TimeAmount.seconds(5)

    let configuration: NodeConfiguration
    let backend: AuthBackend
    let clock: ManualClock?
    var metricsRegistry = PrometheusCollectorRegistry()

    static func make(
        _ kind: BackendKind,
        redisURL: String? = nil,
        nodeID: String = "node-1",
        port: Int = 8081,
        keyPrefix: String? = nil,
        revocation: RevocationMode = .push,
        revocationMaxStaleness: TimeAmount = .seconds(5),
        loginAttemptLimit: Int = 5,
        loginAddressLimit: Int = NodeConfiguration.Defaults.loginAddressLimit,
        passwordCheckConcurrency: Int = NodeConfiguration.Defaults.passwordCheckConcurrency,
        passwordCheckQueue: Int = NodeConfiguration.Defaults.passwordCheckQueue,
        trustForwardedFor: Bool = false,
        accessTokenLifetime: Int = 300,
        refreshFamilyLifetime: Int = 2_592_000,
        keyRing: JWTKeyRing? = nil,
        idleTimeout: TimeAmount = .seconds(30),
        requestTimeout: TimeAmount? = nil,
        bcryptCost: UInt8 = 4,
        sessionIdleTimeout: Int = NodeConfiguration.Defaults.sessionIdleTimeout,
        sessionCache: SessionCacheMode = .off,
        sessionCacheMaxStaleness: TimeAmount = .seconds(1),
        redisTimeout: TimeAmount = NodeHarness.redisTimeout,
        users: InMemoryUserStore = InMemoryUserStore(),
        revocationStore: InMemoryRevocationStore = InMemoryRevocationStore()
    ) async throws -> NodeHarness {
        let keyRing = if let keyRing { keyRing } else {
            JWTKeyRing(current: try await JWTKeyRing.loadKey(algorithm: .hs256, contents: secret))
        }
        var configuration = NodeConfiguration(
            nodeID: nodeID, port: port, keys: RedisKeys(prefix: keyPrefix ?? "test-\(UUID().uuidString):"), keyRing: keyRing,
            accessTokenLifetime: accessTokenLifetime, refreshFamilyLifetime: refreshFamilyLifetime, sessionIdleTimeout: sessionIdleTimeout, revocation: revocation, revocationMaxStaleness: revocationMaxStaleness,
            sessionCache: sessionCache, sessionCacheMaxStaleness: sessionCacheMaxStaleness, bcryptCost: bcryptCost,
            loginAttemptLimit: loginAttemptLimit, loginAddressLimit: loginAddressLimit, passwordCheckConcurrency: passwordCheckConcurrency,
            passwordCheckQueue: passwordCheckQueue, trustForwardedFor: trustForwardedFor,
            idleTimeout: idleTimeout, requestTimeout: requestTimeout ?? idleTimeout)
        let backend: AuthBackend
        var clock: ManualClock?
        let registry = PrometheusCollectorRegistry()
        switch kind {
        case .inMemory:
            let manual = ManualClock(Date().timeIntervalSince1970)
            clock = manual
            backend = .inMemory(configuration, clock: manual, users: users, revocationStore: revocationStore)
        case .redis:
            var redis = try RedisConfiguration(url: redisURL ?? TestEnvironment.requireRedisURL())
            redis.commandTimeout = redisTimeout
            redis.connectTimeout = redisTimeout
            configuration.redis = redis
            backend = .redis(configuration, metricsFactory: PrometheusMetricsFactory(registry: registry), logger: Logger(label: "test"))
        }
        let harness = NodeHarness(configuration: configuration, backend: backend, clock: clock, metricsRegistry: registry)
        let hash = try await backend.passwordHasher.hash(password)
        try await backend.users.save(UserRecord(username: "reader1", name: "Reader One", role: .reader, passwordHash: hash))
        try await backend.users.save(UserRecord(username: "writer1", name: "Writer One", role: .writer, passwordHash: hash))
        return harness
    }

    func application() throws -> some ApplicationProtocol {
        try buildApplication(configuration, backend: backend, metricsRegistry: metricsRegistry, logger: Logger(label: "test"))
    }

    /// Runs the application as HummingbirdTesting does, once `/readyz` says ready (a node on
    /// Redis refuses access tokens until it has loaded the revocation list).
    func test<Value>(_ setup: TestingSetup, _ body: @Sendable (any TestClientProtocol) async throws -> Value) async throws -> Value {
        try await application().test(setup) { client in
            try await client.waitUntilReady()
            return try await body(client)
        }
    }

    /// Runs `body` with every node of `harnesses` live on a loopback socket, each once ready,
    /// their clients in the same order.
    static func live(
        _ harnesses: [NodeHarness], clients: [any TestClientProtocol] = [],
        _ body: @Sendable ([any TestClientProtocol]) async throws -> Void
    ) async throws {
        guard let first = harnesses.first else { return try await body(clients) }
        try await first.test(.live) { client in
            try await live(Array(harnesses.dropFirst()), clients: clients + [client], body)
        }
    }

    /// Moves time on: the manual clock where there is one, the wall clock otherwise.
    func advance(by seconds: Double) async throws {
        if let clock {
            clock.advance(by: seconds)
        } else {
            try await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
        }
    }
}

struct Login: Decodable {
    var mode: String
    var access_token: String
    var refresh_token: String
    var expires_in: Int
}

struct ErrorBody: Decodable, Equatable {
    var error: String
    var message: String
}

extension TestResponse {
    func decoded<T: Decodable>(_ type: T.Type = T.self) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(buffer: body))
    }

    var errorCode: String? { (try? decoded(ErrorBody.self))?.error }

    /// The `sid` value of a Set-Cookie, if any.
    var sessionCookie: String? {
        guard let cookie = headers[.setCookie], cookie.hasPrefix("sid=") else { return nil }
        return String(cookie.dropFirst(4).prefix { $0 != ";" })
    }
}

extension TestClientProtocol {
    /// Waits until `/readyz` answers 200 (after a start, or once Redis is back).
    func waitUntilReady() async throws {
        let ready = try await eventually { try await get("/readyz").status == .ok }
        try #require(ready, "the node did not become ready")
    }

    func login(_ username: String, mode: String, password: String = NodeHarness.password) async throws -> TestResponse {
        try await execute(
            uri: "/auth/login", method: .post, headers: [.contentType: "application/json"],
            body: ByteBuffer(string: #"{"username":"\#(username)","password":"\#(password)","mode":"\#(mode)"}"#))
    }

    func get(_ uri: String, bearer: String? = nil, session: String? = nil, extra: HTTPFields = [:]) async throws -> TestResponse {
        var headers = extra
        if let bearer { headers[.authorization] = "Bearer \(bearer)" }
        if let session { headers[.cookie] = "sid=\(session)" }
        return try await execute(uri: uri, method: .get, headers: headers)
    }

    func put(_ uri: String, bearer: String? = nil, session: String? = nil, json: String, contentType: String = "application/json") async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: contentType]
        if let bearer { headers[.authorization] = "Bearer \(bearer)" }
        if let session { headers[.cookie] = "sid=\(session)" }
        return try await execute(uri: uri, method: .put, headers: headers, body: ByteBuffer(string: json))
    }

    func post(_ uri: String, bearer: String? = nil, session: String? = nil, json: String? = nil) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let bearer { headers[.authorization] = "Bearer \(bearer)" }
        if let session { headers[.cookie] = "sid=\(session)" }
        return try await execute(uri: uri, method: .post, headers: headers, body: json.map { ByteBuffer(string: $0) })
    }
}
