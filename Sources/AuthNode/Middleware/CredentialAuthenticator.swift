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
        let authorization = Self.authorization(in: request.headers)
        let sessionID = Self.sessionCookie(in: request.headers).map(String.init)
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
        guard let token = Self.bearerToken(authorization) else {
            throw invalid("the Authorization header must be 'Bearer <token>'")
        }
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
        if revocation == .push {
            // A list that may have missed revocations must not vouch for a token.
            guard backend.revocationIsCurrent() else { throw APIError.revocationUnavailable }
            if backend.revocationList.isRevoked(jti: claims.jti) {
                throw invalid("the access token has been revoked")
            }
        }
        return Identity(user: claims.user, credential: .accessToken(claims))
    }

    /// The Authorization header's value, as `headers[.authorization]` gives it (several fields
    /// joined by ", ", which no token then matches) but without joining the one a request has:
    /// the subscript joins through unspecialized generic code and copies the value.
    static func authorization(in headers: HTTPFields) -> String? {
        var found: String?
        for field in headers where field.name == .authorization {
            guard found == nil else { return headers[.authorization] }
            found = field.value
        }
        return found
    }

    /// The token of `Bearer <token>`, the scheme in any letter case (RFC 9110); nil for
    /// another scheme or an empty token. Compared as bytes: this runs on every JWT request.
    static func bearerToken(_ authorization: String) -> Substring? {
        let utf8 = authorization.utf8
        let scheme = "bearer".utf8
        guard utf8.count > scheme.count + 1 else { return nil }
        var index = utf8.startIndex
        for expected in scheme {
            let byte = utf8[index]
            guard byte == expected || byte == expected - 0x20 else { return nil }
            index = utf8.index(after: index)
        }
        guard utf8[index] == UInt8(ascii: " ") else { return nil }
        return authorization[utf8.index(after: index)...]
    }

    /// The first `sid` cookie's value, read as Hummingbird's `request.cookies` reads it (pairs
    /// split at `;`, leading blanks dropped, the name up to the first `=`, an empty value as
    /// none) but on bytes and without parsing the other cookies: this runs on every request.
    /// A slice of the header's value, so asking whether there is one allocates nothing.
    static func sessionCookie(in headers: HTTPFields) -> Substring? {
        let name = "sid".utf8
        for field in headers where field.name == .cookie {
            let value = field.value
            let utf8 = value.utf8
            var pairStart = utf8.startIndex
            while pairStart < utf8.endIndex {
                let pairEnd = utf8[pairStart...].firstIndex(of: UInt8(ascii: ";")) ?? utf8.endIndex
                var nameStart = pairStart
                while nameStart < pairEnd, utf8[nameStart] == UInt8(ascii: " ") || utf8[nameStart] == UInt8(ascii: "\t") {
                    nameStart = utf8.index(after: nameStart)
                }
                if let equals = utf8[nameStart..<pairEnd].firstIndex(of: UInt8(ascii: "=")),
                    utf8[nameStart..<equals].elementsEqual(name)
                {
                    let cookie = value[utf8.index(after: equals)..<pairEnd]
                    return cookie.isEmpty ? nil : cookie
                }
                pairStart = pairEnd == utf8.endIndex ? pairEnd : utf8.index(after: pairEnd)
            }
        }
        return nil
    }

    private func identity(sessionID: String) async throws -> Identity {
        guard let session = try await backend.sessions.resume(id: sessionID) else {
            throw APIError(.unauthorized, "invalid_session", "the session is unknown or has expired; log in again")
        }
        return Identity(user: session.user, credential: .session(id: sessionID))
    }
}
