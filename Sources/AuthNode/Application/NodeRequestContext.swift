import AuthCore
import Hummingbird
import HummingbirdAuth

/// Who made the request and how they proved it. A class: the request context that holds it
/// is copied at every middleware, and a token's claims hold several references.
public final class Identity: Sendable {
    public enum Credential: Sendable {
        case session(id: String)
        case accessToken(AccessTokenClaims)
    }

    public let user: UserClaims
    public let credential: Credential

    init(user: UserClaims, credential: Credential) {
        self.user = user
        self.credential = credential
    }

    public var mode: String {
        switch credential {
        case .session: "session"
        case .accessToken: "jwt"
        }
    }
}

public struct NodeRequestContext: AuthRequestContext, RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var identity: Identity?

    public init(source: Source) {
        coreContext = .init(source: source)
        identity = nil
    }

    /// docs/api.md: bodies over 16 KiB get 413.
    public var maxUploadSize: Int { APILimits.maximumBodySize }
}

public enum APILimits {
    public static let maximumBodySize = 16 * 1024
    public static let maximumHeaderSize = 8 * 1024
}
