import AuthCore
import Foundation
import Hummingbird
import HummingbirdAuth

/// `/auth/login`, `/auth/refresh`, `/auth/logout`, `/auth/logout-all`.
struct AuthRoutes {
    let backend: AuthBackend
    let configuration: NodeConfiguration

    struct LoginRequest: Decodable {
        var username: String
        var password: String
        var mode: String
    }

    struct RefreshRequest: Decodable {
        var refresh_token: String
    }

    struct TokenResponse: ResponseEncodable {
        var mode = "jwt"
        var access_token: String
        var token_type = "Bearer"
        var expires_in: Int
        var refresh_token: String
        var refresh_expires_in: Int
    }

    struct SessionResponse: ResponseEncodable {
        var mode = "session"
        var expires_in: Int
        var user: UserClaims
    }

    func addPublic(to group: RouterGroup<NodeRequestContext>) {
        group.post("login", use: login)
        group.post("refresh", use: refresh)
    }

    func addAuthenticated(to group: RouterGroup<NodeRequestContext>) {
        group.post("logout", use: logout)
        group.post("logout-all", use: logoutAll)
    }

    func login(_ request: Request, context: NodeRequestContext) async throws -> Response {
        let body = try await request.decode(as: LoginRequest.self, context: context)
        guard (1...128).contains(body.username.utf8.count) else {
            throw APIError.badRequest("the username must be 1 to 128 bytes")
        }
        if let problem = PasswordHasher.problem(with: body.password) {
            throw APIError.badRequest(problem)
        }
        guard body.mode == "session" || body.mode == "jwt" else {
            throw APIError(.badRequest, "unsupported_mode", "mode must be \"session\" or \"jwt\"")
        }
        let verdict = try await backend.loginAttempts.reserve(
            username: body.username, limit: configuration.loginAttemptLimit, window: configuration.loginAttemptWindow)
        if case .refused(let retryAfter) = verdict {
            throw APIError(
                .tooManyRequests, "too_many_attempts", "too many failed logins for this user; wait before trying again",
                headers: [.retryAfter: String(retryAfter)])
        }
        let user = try await backend.users.user(named: body.username)
        let verification = try await backend.passwordHasher.check(body.password, against: user?.passwordHash)
        guard case .match(let upgradedHash) = verification, let user else {
            throw APIError(.unauthorized, "invalid_credentials", "unknown user or wrong password")
        }
        try await backend.loginAttempts.reset(username: body.username)
        if let upgradedHash {
            try await backend.users.replacePasswordHash(of: user.username, user.passwordHash, with: upgradedHash)
        }

        if body.mode == "session" {
            let sessionID = try await backend.sessions.start(for: user.claims)
            var response = try SessionResponse(expires_in: configuration.sessionIdleTimeout, user: user.claims)
                .response(from: request, context: context)
            // The browser keeps the cookie as long as the session can live (every request slides its
            // idle expiry on the node); the node, not the cookie, ends an idle session.
            response.headers[.setCookie] = sessionCookie(sessionID, maxAge: configuration.sessionAbsoluteLifetime)
            response.headers[.cacheControl] = "no-store"
            return response
        }
        let refresh = try await backend.refreshTokens.issue(uid: user.claims.sub)
        let access = try backend.accessTokens.issue(for: user.claims, family: refresh.family)
        return try tokenResponse(
            access: access.token, refresh: refresh.token, refreshExpiresIn: refresh.expiresIn, request: request, context: context)
    }

    func refresh(_ request: Request, context: NodeRequestContext) async throws -> Response {
        let body = try await request.decode(as: RefreshRequest.self, context: context)
        let invalidGrant = APIError(.unauthorized, "invalid_grant", "the refresh token is unknown, expired, revoked or already used")
        switch try await backend.refreshTokens.rotate(body.refresh_token) {
        case .invalid:
            throw invalidGrant
        case .reuseDetected(let uid, let family):
            context.logger.notice("refresh token reuse: family revoked", metadata: ["sub": "\(uid)"])
            // Thief or victim, whoever holds the family's access tokens loses them too.
            try await publish(Revocation(.family(family), until: accessTokenRevocationEnd()))
            throw invalidGrant
        case .rotated(let newToken, let uid, let family, let expiresIn):
            guard let user = try await backend.users.user(named: uid) else {
                try await backend.refreshTokens.revokeFamily(family)
                throw invalidGrant
            }
            let access = try backend.accessTokens.issue(for: user.claims, family: family)
            return try tokenResponse(access: access.token, refresh: newToken, refreshExpiresIn: expiresIn, request: request, context: context)
        }
    }

    func logout(_ request: Request, context: NodeRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        switch identity.credential {
        case .session(let id):
            try await backend.sessions.end(id: id, uid: identity.user.sub)
            var response = Response(status: .noContent)
            response.headers[.setCookie] = sessionCookie("", maxAge: 0)
            return response
        case .accessToken(let claims):
            // The whole login ends: its refresh family and every access token issued in it.
            if let family = claims.family {
                try await backend.refreshTokens.revokeFamily(family)
                try await publish(Revocation(.family(family), until: max(accessTokenRevocationEnd(), claims.exp + Int64(configuration.clockLeeway))))
            } else {
                try await publish(Revocation(.token(jti: claims.jti), until: claims.exp + Int64(configuration.clockLeeway)))
            }
            return Response(status: .noContent)
        }
    }

    func logoutAll(_ request: Request, context: NodeRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let uid = identity.user.sub
        try await backend.sessions.endAll(uid: uid)
        // Families, not a per-user "not before" time: iat has whole seconds, so a cut-off time
        // would either spare a token refreshed in the same second or kill a new login in it.
        let families = try await backend.refreshTokens.revokeAll(uid: uid)
        let until = accessTokenRevocationEnd()
        for family in families {
            try await publish(Revocation(.family(family), until: until))
        }
        if case .accessToken(let claims) = identity.credential, let family = claims.family, !families.contains(family) {
            try await publish(Revocation(.family(family), until: until))
        }
        var response = Response(status: .noContent)
        if case .session = identity.credential {
            response.headers[.setCookie] = sessionCookie("", maxAge: 0)
        }
        return response
    }

    /// When every access token issued until now has expired (leeway included): how long a revocation is kept.
    private func accessTokenRevocationEnd() -> Int64 {
        Int64(backend.accessTokens.clock.now()) + Int64(configuration.accessTokenLifetime + 2 * configuration.clockLeeway)
    }

    /// With push revocation the node applies it at once and tells the others; with none,
    /// access tokens run until they expire.
    private func publish(_ revocation: Revocation) async throws {
        guard configuration.revocation == .push else { return }
        backend.revocationList.apply(revocation)
        try await backend.revocationStore.publish(revocation)
    }

    private func tokenResponse(
        access: String, refresh: String, refreshExpiresIn: Int, request: Request, context: NodeRequestContext
    ) throws -> Response {
        var response = try TokenResponse(
            access_token: access, expires_in: configuration.accessTokenLifetime, refresh_token: refresh,
            refresh_expires_in: refreshExpiresIn
        ).response(from: request, context: context)
        response.headers[.cacheControl] = "no-store"
        return response
    }

    private func sessionCookie(_ value: String, maxAge: Int) -> String {
        "sid=\(value); Path=/; HttpOnly; SameSite=Lax; Max-Age=\(maxAge)" + (configuration.secureCookies ? "; Secure" : "")
    }
}
