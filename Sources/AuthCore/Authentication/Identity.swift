/// Who made the request and how they proved it. A class: the request context that holds it
/// is copied at every middleware, and a token's claims hold several references.
public final class Identity: Sendable {
    public enum Proof: Sendable {
        case session(id: String)
        case accessToken(AccessTokenClaims)
    }

    public let user: UserClaims
    public let proof: Proof

    public init(user: UserClaims, proof: Proof) {
        self.user = user
        self.proof = proof
    }

    public var mode: String {
        switch proof {
        case .session: "session"
        case .accessToken: "jwt"
        }
    }
}
