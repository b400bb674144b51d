/// What a request offers to prove who sent it, read once per request from its headers.
public enum Credential: Sendable, Equatable {
    case none
    /// The Authorization header's value, whatever its scheme (only `Bearer` is accepted).
    case authorization(String)
    /// The `sid` cookie's value.
    case sessionID(Substring)
    /// Both an Authorization header and a `sid` cookie: refused.
    case ambiguous

    /// The mode a request is counted under in the metrics.
    public var mode: String {
        switch self {
        case .none: "none"
        case .authorization: "jwt"
        case .sessionID: "session"
        case .ambiguous: "ambiguous"
        }
    }
}
