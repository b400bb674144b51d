import RedisClient
import Testing

@Suite struct RedisConfigurationTests {
    @Test func parsesEveryPartOfTheURL() throws {
        let configuration = try RedisConfiguration(url: "redis://alice:s%40cret@cache.local:6380/3")
        #expect(configuration.host == "cache.local")
        #expect(configuration.port == 6380)
        #expect(configuration.username == "alice")
        #expect(configuration.password == "s@cret")
        #expect(configuration.database == 3)
    }

    @Test func fillsDefaults() throws {
        let configuration = try RedisConfiguration(url: "redis://127.0.0.1")
        #expect(configuration.port == 6379)
        #expect(configuration.database == 0)
        #expect(configuration.username == nil)
        #expect(configuration.password == nil)
    }

    @Test func passwordWithoutUserAndIPv6Host() throws {
        let configuration = try RedisConfiguration(url: "redis://:pw@[::1]:7000/")
        #expect(configuration.host == "::1")
        #expect(configuration.port == 7000)
        #expect(configuration.username == nil)
        #expect(configuration.password == "pw")
    }

    @Test func passwordMayContainSlashAndAt() throws {
        let configuration = try RedisConfiguration(url: "redis://:a/b@c@localhost/2")
        #expect(configuration.password == "a/b@c")
        #expect(configuration.host == "localhost")
        #expect(configuration.database == 2)
    }

    @Test(arguments: [
        ("http://localhost", "scheme"),
        ("redis://localhost:0", "port"),
        ("redis://localhost:70000", "port"),
        ("redis://localhost:abc", "port"),
        ("redis://localhost/x", "database"),
        ("redis://localhost/-1", "database"),
        ("redis://:6379", "host"),
        ("redis://pw@localhost", "credentials"),
        ("redis://user:@localhost", "password"),
        ("redis://:p%zz@localhost", "password"),
        ("redis://[::1", "host"),
    ])
    func rejectsAndNamesTheWrongPart(url: String, part: String) {
        #expect {
            _ = try RedisConfiguration(url: url)
        } throws: { error in
            guard case .invalidURL(let reason) = error as? RedisError else { return false }
            return reason.hasPrefix(part + ":")
        }
    }

    @Test func descriptionHidesThePassword() throws {
        let configuration = try RedisConfiguration(url: "redis://bob:hunter2@localhost:6379/1")
        #expect(!"\(configuration)".contains("hunter2"))
        #expect("\(configuration)" == "redis://bob:***@localhost:6379/1")
    }
}
