/// Every Redis key and channel the project uses, in one place (docs/architecture.md lists them).
public struct RedisKeys: Sendable, Hashable {
    public let prefix: String

    public init(prefix: String) {
        self.prefix = prefix
    }

    public func user(_ username: String) -> String { prefix + "user:" + username }
    public func session(_ idHash: String) -> String { prefix + "sess:" + idHash }
    public func userSessions(_ uid: String) -> String { prefix + "usess:" + uid }
    public func refreshToken(_ tokenHash: String) -> String { prefix + "rt:" + tokenHash }
    public func refreshFamily(_ family: String) -> String { prefix + "rtfam:" + family }
    public func userFamilies(_ uid: String) -> String { prefix + "ufam:" + uid }
    public func loginFailures(_ username: String) -> String { prefix + "loginfail:" + username }
    public func loginFailuresFromAddress(_ address: String) -> String { prefix + "loginaddr:" + address }
    public var revoked: String { prefix + "revoked" }
    public var revocationChannel: String { prefix + "revocations" }
}
