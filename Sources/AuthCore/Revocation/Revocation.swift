/// One thing revoked before its natural end, kept until `until` (after which the token it
/// names would be expired anyway).
public struct Revocation: Sendable, Hashable {
    public enum Target: Sendable, Hashable {
        /// One access token.
        case token(jti: String)
        /// Every access token of `uid` issued at or before `notBefore`.
        case user(uid: String, notBefore: Int64)
    }

    public var target: Target
    public var until: Int64

    public init(_ target: Target, until: Int64) {
        self.target = target
        self.until = until
    }

    /// The sorted-set member: `jti:<jti>` or `user:<notBefore>:<uid>`.
    public var member: String {
        switch target {
        case .token(let jti): "jti:" + jti
        case .user(let uid, let notBefore): "user:\(notBefore):" + uid
        }
    }

    public init?(member: some StringProtocol, until: Int64) {
        if member.hasPrefix("jti:") {
            self.init(.token(jti: String(member.dropFirst(4))), until: until)
            return
        }
        guard member.hasPrefix("user:") else { return nil }
        let rest = member.dropFirst(5)
        guard let colon = rest.firstIndex(of: ":"), let notBefore = Int64(rest[..<colon]) else { return nil }
        self.init(.user(uid: String(rest[rest.index(after: colon)...]), notBefore: notBefore), until: until)
    }

    /// The pub/sub message: `<until>|<member>`.
    public var message: String { "\(until)|\(member)" }

    public init?(message: some StringProtocol) {
        guard let bar = message.firstIndex(of: "|"), let until = Int64(message[..<bar]) else { return nil }
        self.init(member: message[message.index(after: bar)...], until: until)
    }
}
