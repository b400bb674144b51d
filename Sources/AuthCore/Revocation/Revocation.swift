/// One thing revoked before its natural end, kept until `until` (after which the token it
/// names would be expired anyway).
public struct Revocation: Sendable, Hashable {
    public enum Target: Sendable, Hashable {
        /// One access token.
        case token(jti: String)
        /// Every access token of one refresh family: one login on one device, through all its
        /// refreshes (an access token's `jti` is `<family>.<random>`).
        case family(String)
    }

    public var target: Target
    public var until: Int64

    public init(_ target: Target, until: Int64) {
        self.target = target
        self.until = until
    }

    /// The sorted-set member: `jti:<jti>` or `family:<family>`.
    public var member: String {
        switch target {
        case .token(let jti): "jti:" + jti
        case .family(let family): "family:" + family
        }
    }

    public init?(member: some StringProtocol, until: Int64) {
        if member.hasPrefix("jti:") {
            self.init(.token(jti: String(member.dropFirst(4))), until: until)
            return
        }
        guard member.hasPrefix("family:"), member.count > 7 else { return nil }
        self.init(.family(String(member.dropFirst(7))), until: until)
    }

    /// The pub/sub message: `<until>|<member>`.
    public var message: String { "\(until)|\(member)" }

    public init?(message: some StringProtocol) {
        guard let bar = message.firstIndex(of: "|"), let until = Int64(message[..<bar]) else { return nil }
        self.init(member: message[message.index(after: bar)...], until: until)
    }
}
