/// What a user may do: a reader reads articles, a writer also edits them, an admin both.
public enum Role: String, Codable, Sendable, CaseIterable {
    case reader
    case writer
    case admin

    public var mayEditArticles: Bool { self != .reader }
}

/// The part of a user that travels in a session or a token.
public struct UserClaims: Codable, Sendable, Hashable {
    public var sub: String
    public var name: String
    public var role: Role

    public init(sub: String, name: String, role: Role) {
        self.sub = sub
        self.name = name
        self.role = role
    }
}

/// A stored user. `passwordHash` is bcrypt; the password itself is never stored.
public struct UserRecord: Sendable, Hashable {
    /// Why `username` cannot be a username, or nil when it can.
    public static func problem(withUsername username: String) -> String? {
        (1...128).contains(username.utf8.count) ? nil : "the username must be 1 to 128 bytes"
    }

    public var username: String
    public var claims: UserClaims
    public var passwordHash: String

    public init(username: String, name: String, role: Role, passwordHash: String) {
        self.username = username
        self.claims = UserClaims(sub: username, name: name, role: role)
        self.passwordHash = passwordHash
    }
}
