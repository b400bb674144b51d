import Foundation
import Testing

/// What the test script handed to the tests, and how a test without it is skipped.
public enum TestEnvironment {
    /// The throwaway redis-server that `scripts/test` started.
    public static var redisURL: String? {
        ProcessInfo.processInfo.environment["AUTHBENCH_TEST_REDIS_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// A Python with PyJWT and cryptography (the virtual environment scripts/bootstrap makes).
    public static var python: String? {
        ProcessInfo.processInfo.environment["AUTHBENCH_TEST_PYTHON"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Under CI a missing prerequisite fails the test instead of skipping it.
    public static var isCI: Bool {
        ProcessInfo.processInfo.environment["CI"] == "true"
    }

    /// The shared Redis URL, or a test failure that says how to get one.
    public static func requireRedisURL() throws -> String {
        guard let url = redisURL else {
            throw TestSupportError("AUTHBENCH_TEST_REDIS_URL is not set; CI=true requires it (scripts/test sets it)")
        }
        return url
    }
}

extension Trait where Self == ConditionTrait {
    /// Runs the test when `scripts/test` gave a Redis URL, or under CI (where its absence fails).
    public static var sharedRedis: Self {
        .enabled(
            if: TestEnvironment.redisURL != nil || TestEnvironment.isCI,
            "skipped: no AUTHBENCH_TEST_REDIS_URL; run scripts/test, which starts a throwaway redis-server"
        )
    }

    /// Runs the test when `scripts/test` gave a Python with PyJWT, or under CI (where its absence fails).
    public static var pyJWT: Self {
        .enabled(
            if: TestEnvironment.python != nil || TestEnvironment.isCI,
            "skipped: no AUTHBENCH_TEST_PYTHON; run scripts/test, which makes a virtual environment with PyJWT"
        )
    }

    /// Runs the test when a redis-server executable is there to start, or under CI.
    public static var ownRedisServer: Self {
        .enabled(
            if: RedisServerProcess.executablePath != nil || TestEnvironment.isCI,
            "skipped: no redis-server executable on PATH; scripts/bootstrap installs it"
        )
    }
}
