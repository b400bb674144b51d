import ArgumentParser
import AuthCore
import AuthNode
import Foundation
import Hummingbird
import Logging
import Metrics
import NIOCore
import Prometheus
import RedisClient

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run a node.")

    @Option(help: "This node's name, in every response and log line.") var nodeId = NodeConfiguration.Defaults.nodeID
    @Option(help: "Address to listen on.") var host = NodeConfiguration.Defaults.host
    @Option(help: "Port to listen on.") var port = NodeConfiguration.Defaults.port
    @Option(help: "redis://[[user]:password@]host[:port][/db]") var redisUrl = NodeConfiguration.Defaults.redisURL
    @Option(help: "Prefix of every Redis key.") var keyPrefix = NodeConfiguration.Defaults.keyPrefix
    @Option(help: "Redis command timeout in milliseconds (session requests get 503 after it).") var redisTimeoutMs = NodeConfiguration.Defaults.redisTimeoutMilliseconds
    @Option(help: "Signing algorithm: HS256, ES256, EdDSA or RS256.") var jwtAlg: JWTAlgorithmName = .hs256
    @Option(help: "The signing key: a raw secret of at least 32 bytes for HS256, a PEM private key otherwise.")
    var jwtKeyFile: String?
    @Option(parsing: .singleValue, help: "An earlier key that still verifies, as ALG:PATH (repeatable; AUTHBENCH_JWT_PREVIOUS_KEY takes a comma-separated list).")
    var jwtPreviousKey: [String] = []
    @Flag(help: "Generate a throwaway signing key (development only; never with real users).") var dev = false
    @Option(help: "The iss claim.") var issuer = NodeConfiguration.Defaults.issuer
    @Option(help: "The aud claim.") var audience = NodeConfiguration.Defaults.audience
    @Option(help: "Access-token lifetime in seconds.") var accessTokenTtl = NodeConfiguration.Defaults.accessTokenLifetime
    @Option(help: "Refresh-token lifetime in seconds.") var refreshTokenTtl = NodeConfiguration.Defaults.refreshTokenLifetime
    @Option(help: "Seconds a login's refresh tokens can be renewed for, however often they are refreshed.")
    var refreshFamilyLifetime = NodeConfiguration.Defaults.refreshFamilyLifetime
    @Option(help: "Session idle timeout in seconds.") var sessionIdleTimeout = NodeConfiguration.Defaults.sessionIdleTimeout
    @Option(help: "Session absolute lifetime in seconds.") var sessionAbsoluteLifetime = NodeConfiguration.Defaults.sessionAbsoluteLifetime
    @Option(help: "Clock leeway in seconds for exp, iat and nbf.") var clockLeeway = NodeConfiguration.Defaults.clockLeeway
    @Option(help: "JWT revocation: push (pub/sub, checked in memory) or none (valid until exp).") var revocation: RevocationMode = NodeConfiguration.Defaults.revocation
    @Option(help: "With push revocation: milliseconds the revocation channel may go unconfirmed before access tokens get 503 and the node is not ready.")
    var revocationMaxStalenessMs = NodeConfiguration.Defaults.revocationMaxStalenessMilliseconds
    @Option(help: "Where sessions are read: off (Redis on every request) or tracking (memory first, kept true by Redis's key tracking).")
    var sessionCache: SessionCacheMode = NodeConfiguration.Defaults.sessionCache
    @Option(help: "With --session-cache tracking: sessions kept in memory at most (least recently used out first).")
    var sessionCacheSize = NodeConfiguration.Defaults.sessionCacheSize
    @Option(help: "With --session-cache tracking: seconds between renewals of a session's idle expiry in Redis; a twentieth of the idle timeout when absent.")
    var sessionTouchInterval: Int?
    @Option(help: "With --session-cache tracking: milliseconds the invalidation feed may go unconfirmed before the cache is emptied and sessions are read from Redis.")
    var sessionCacheMaxStalenessMs = NodeConfiguration.Defaults.sessionCacheMaxStalenessMilliseconds
    @Option(help: "bcrypt cost for passwords (4 to 31).") var bcryptCost = NodeConfiguration.Defaults.bcryptCost
    @Option(help: "Failed logins per username before 429.") var loginAttemptLimit = NodeConfiguration.Defaults.loginAttemptLimit
    @Option(help: "Window of the failed-login count, in seconds.") var loginAttemptWindow = NodeConfiguration.Defaults.loginAttemptWindow
    @Option(help: "Failed logins per client address per window before 429 (0: no limit).") var loginAddressLimit = NodeConfiguration.Defaults.loginAddressLimit
    @Option(help: "Password checks (bcrypt) at once; half the cores (at least 1) when absent.") var passwordCheckConcurrency: Int?
    @Option(help: "Logins that may wait for a password check; past them a login gets 503.") var passwordCheckQueue = NodeConfiguration.Defaults.passwordCheckQueue
    @Flag(help: "Take a login's client address from the last X-Forwarded-For entry (only behind a proxy that appends it, which every client goes through).")
    var trustForwardedFor = false
    @Flag(help: "Mark the session cookie Secure (behind TLS).") var secureCookies = false
    @Option(help: "Seconds before an idle client connection is closed.") var idleTimeout = NodeConfiguration.Defaults.idleTimeoutSeconds
    @Option(help: "Seconds a client has, from connecting or from its last response, to send its next request whole (head and body).")
    var requestTimeout = NodeConfiguration.Defaults.requestTimeoutSeconds
    @Option(help: "Client connections open at once; more wait to be accepted until one ends.") var maxConnections = NodeConfiguration.Defaults.maxConnections
    @Option(help: "trace, debug, info, notice, warning, error or critical.") var logLevel: Logger.Level = .info

    static let valueOptions = [
        "node-id", "host", "port", "redis-url", "key-prefix", "redis-timeout-ms", "jwt-alg", "jwt-key-file",
        "jwt-previous-key", "issuer", "audience", "access-token-ttl", "refresh-token-ttl", "refresh-family-lifetime", "session-idle-timeout",
        "session-absolute-lifetime", "clock-leeway", "revocation", "revocation-max-staleness-ms", "session-cache",
        "session-cache-size", "session-touch-interval", "session-cache-max-staleness-ms", "bcrypt-cost", "login-attempt-limit",
        "login-attempt-window", "login-address-limit", "password-check-concurrency", "password-check-queue", "idle-timeout",
        "request-timeout", "max-connections", "log-level",
    ]
    static let flagOptions = ["dev", "secure-cookies", "trust-forwarded-for"]

    /// `AUTHBENCH_<OPTION>` for every option not given on the command line.
    static func arguments(fromEnvironment environment: [String: String], given: [String]) -> [String] {
        func variable(_ option: String) -> String { "AUTHBENCH_" + option.uppercased().replacingOccurrences(of: "-", with: "_") }
        var extra: [String] = []
        for option in valueOptions where !given.contains(where: { $0 == "--\(option)" || $0.hasPrefix("--\(option)=") }) {
            guard let value = environment[variable(option)], !value.isEmpty else { continue }
            let values = option == "jwt-previous-key" ? value.split(separator: ",").map(String.init) : [value]
            for value in values { extra += ["--\(option)", value] }
        }
        for flag in flagOptions where !given.contains("--\(flag)") {
            if let value = environment[variable(flag)], ["1", "true", "yes"].contains(value.lowercased()) {
                extra.append("--\(flag)")
            }
        }
        return extra
    }

    func validate() throws {
        guard (1...65535).contains(port) else { throw ValidationError("--port must be from 1 to 65535") }
        guard (4...31).contains(bcryptCost) else { throw ValidationError("--bcrypt-cost must be from 4 to 31") }
        for (name, value) in [
            ("--access-token-ttl", accessTokenTtl), ("--refresh-token-ttl", refreshTokenTtl),
            ("--refresh-family-lifetime", refreshFamilyLifetime),
            ("--session-idle-timeout", sessionIdleTimeout), ("--session-absolute-lifetime", sessionAbsoluteLifetime),
            ("--login-attempt-limit", loginAttemptLimit), ("--login-attempt-window", loginAttemptWindow),
            ("--idle-timeout", idleTimeout), ("--redis-timeout-ms", redisTimeoutMs),
            ("--revocation-max-staleness-ms", revocationMaxStalenessMs), ("--request-timeout", requestTimeout),
            ("--max-connections", maxConnections), ("--session-cache-size", sessionCacheSize),
            ("--session-cache-max-staleness-ms", sessionCacheMaxStalenessMs),
        ] where value <= 0 {
            throw ValidationError("\(name) must be positive")
        }
        if let sessionTouchInterval {
            guard sessionTouchInterval > 0, sessionTouchInterval < sessionIdleTimeout else {
                throw ValidationError("--session-touch-interval must be positive and shorter than --session-idle-timeout")
            }
        }
        guard clockLeeway >= 0 else { throw ValidationError("--clock-leeway must not be negative") }
        guard loginAddressLimit >= 0 else { throw ValidationError("--login-address-limit must not be negative") }
        guard passwordCheckConcurrency.map({ $0 >= 1 }) ?? true else { throw ValidationError("--password-check-concurrency must be positive") }
        guard passwordCheckQueue >= 0 else { throw ValidationError("--password-check-queue must not be negative") }
        guard jwtKeyFile != nil || dev else {
            throw ValidationError("no signing key: give --jwt-key-file (AUTHBENCH_JWT_KEY_FILE), or --dev for a throwaway one")
        }
    }

    func run() async throws {
        var logger = Logger(label: "authbench-node")
        logger.logLevel = logLevel
        var redis = try redisConfiguration(redisUrl)
        redis.commandTimeout = .milliseconds(Int64(redisTimeoutMs))
        redis.connectTimeout = .milliseconds(Int64(redisTimeoutMs))
        let keyRing = try await loadKeyRing(logger: logger)

        let configuration = NodeConfiguration(
            nodeID: nodeId, host: host, port: port, redis: redis, keys: RedisKeys(prefix: keyPrefix), keyRing: keyRing,
            issuer: issuer, audience: audience, accessTokenLifetime: accessTokenTtl, refreshTokenLifetime: refreshTokenTtl,
            refreshFamilyLifetime: refreshFamilyLifetime,
            sessionIdleTimeout: sessionIdleTimeout, sessionAbsoluteLifetime: sessionAbsoluteLifetime,
            clockLeeway: clockLeeway, revocation: revocation,
            revocationMaxStaleness: .milliseconds(Int64(revocationMaxStalenessMs)), sessionCache: sessionCache,
            sessionCacheSize: sessionCacheSize, sessionTouchInterval: sessionTouchInterval,
            sessionCacheMaxStaleness: .milliseconds(Int64(sessionCacheMaxStalenessMs)), bcryptCost: UInt8(bcryptCost),
            loginAttemptLimit: loginAttemptLimit, loginAttemptWindow: loginAttemptWindow, loginAddressLimit: loginAddressLimit,
            passwordCheckConcurrency: passwordCheckConcurrency ?? NodeConfiguration.Defaults.passwordCheckConcurrency,
            passwordCheckQueue: passwordCheckQueue, trustForwardedFor: trustForwardedFor, secureCookies: secureCookies,
            idleTimeout: .seconds(Int64(idleTimeout)), requestTimeout: .seconds(Int64(requestTimeout)),
            maxConnections: maxConnections)

        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        logger.info("starting", metadata: [
            "node": "\(nodeId)", "listen": "\(host):\(port)", "redis": "\(redis)", "jwt_alg": "\(jwtAlg.rawValue)",
            "kid": "\(keyRing.current.kid)", "revocation": "\(revocation.rawValue)",
            "session_cache": "\(sessionCache.rawValue)",
        ])
        let backend = AuthBackend.redis(configuration, metricsFactory: PrometheusMetricsFactory(registry: registry), logger: logger)
        let app = try buildApplication(configuration, backend: backend, metricsRegistry: registry, logger: logger)
        try await app.runService()
    }

    private func loadKeyRing(logger: Logger) async throws -> JWTKeyRing {
        let current: JWTSigningKey
        if let jwtKeyFile {
            current = try await loadKey(jwtAlg, path: jwtKeyFile, option: "--jwt-key-file")
        } else {
            current = try await JWTKeyRing.generateKey(algorithm: jwtAlg)
            logger.warning("""
                --dev: signing with a THROWAWAY \(jwtAlg.rawValue) key (kid \(current.kid)); tokens die with this \
                process and other nodes cannot verify them. Never use --dev beyond a laptop.
                """)
        }
        var previous: [JWTSigningKey] = []
        for entry in jwtPreviousKey {
            guard let colon = entry.firstIndex(of: ":"), let algorithm = JWTAlgorithmName(rawValue: String(entry[..<colon])) else {
                throw StartupError("--jwt-previous-key: expected ALG:PATH with ALG one of HS256, ES256, EdDSA, RS256; got '\(entry)'")
            }
            previous.append(try await loadKey(algorithm, path: String(entry[entry.index(after: colon)...]), option: "--jwt-previous-key"))
        }
        return JWTKeyRing(current: current, previous: previous)
    }

    private func loadKey(_ algorithm: JWTAlgorithmName, path: String, option: String) async throws -> JWTSigningKey {
        guard var contents = FileManager.default.contents(atPath: path).map(Array.init) else {
            throw StartupError("\(option): cannot read \(path)")
        }
        if algorithm == .hs256 {
            while let last = contents.last, last == UInt8(ascii: "\n") || last == UInt8(ascii: "\r") { contents.removeLast() }
        }
        do {
            return try await JWTKeyRing.loadKey(algorithm: algorithm, contents: contents)
        } catch {
            throw StartupError("\(option) \(path): \(error)")
        }
    }
}
