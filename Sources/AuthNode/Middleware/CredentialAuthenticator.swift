import AuthCore
import Hummingbird
import HummingbirdAuth

/// Authenticates a request by the credential the outermost middleware read: the rules are
/// `Authentication.authenticate`'s. Both credentials or neither is an error, so the routes
/// behind it always have an identity.
struct CredentialAuthenticator: AuthenticatorMiddleware {
    typealias Context = NodeRequestContext

    let authentication: Authentication

    func authenticate(request: Request, context: Context) async throws -> Identity? {
        try await authentication.authenticate(context.credential)
    }
}
