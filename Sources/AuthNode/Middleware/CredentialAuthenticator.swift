import AuthCore
import Hummingbird
import HummingbirdAuth

/// Authenticates a request by its credential: a Bearer JWT (verified locally, revocations
/// checked in memory) or a `sid` cookie (one Redis round trip). Both or neither is an error,
/// so the routes behind it always have an identity.
struct CredentialAuthenticator: AuthenticatorMiddleware {
    typealias Context = NodeRequestContext

    let backend: AuthBackend
    let revocation: RevocationMode

    func authenticate(request: Request, context: Context) async throws -> Identity? {
        let authorization = request.headers[.authorization]
        let sessionID = request.cookies["sid"]?.value
        switch (authorization, sessionID) {
        case (.some, .some):
            throw APIError(.badRequest, "ambiguous_credentials", "send a Bearer token or a session cookie, not both")
        case (.none, .none):
            throw APIError(
                .unauthorized, "missing_credentials", "this endpoint needs a Bearer token or a session cookie",
                headers: [.wwwAuthenticate: "Bearer"])
        case (.some(let authorization), .none):
            return try identity(bearer: authorization)
        case (.none, .some(let sessionID)):
            return try await identity(sessionID: sessionID)
        }
    }

    private func identity(bearer authorization: String) throws -> Identity {
        let invalid = { (reason: String) in
            APIError(.unauthorized, "invalid_token", reason, headers: [.wwwAuthenticate: #"Bearer error="invalid_token""#])
        }
        guard authorization.count > 7, authorization.prefix(7).lowercased() == "bearer " else {
            throw invalid("the Authorization header must be 'Bearer <token>'")
        }
        let token = authorization.dropFirst(7)
        let claims: AccessTokenClaims
        do {
            claims = try backend.accessTokens.verify(token)
        } catch .expired {
            throw APIError(
                .unauthorized, "token_expired", "the access token has expired; refresh it",
                headers: [.wwwAuthenticate: #"Bearer error="invalid_token", error_description="expired""#])
        } catch .invalid(let reason) {
            throw invalid("the access token is not valid: \(reason)")
        }
        if revocation == .push,
            backend.revocationList.isRevoked(jti: claims.jti)
        {
            throw invalid("the access token has been revoked")
        }
        return Identity(user: claims.user, credential: .accessToken(claims))
    }

    private func identity(sessionID: String) async throws -> Identity {
        guard let session = try await backend.sessions.resume(id: sessionID) else {
            throw APIError(.unauthorized, "invalid_session", "the session is unknown or has expired; log in again")
        }
        return Identity(user: session.user, credential: .session(id: sessionID))
    }
}
