import AuthCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdAuth

/// `/auth/login`, `/auth/refresh`, `/auth/logout`, `/auth/logout-all`: HTTP in and out,
/// the rules in `Authentication`.
struct AuthRoutes {
    let authentication: Authentication
    let secureCookies: Bool
    let trustForwardedFor: Bool

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
        switch try await authentication.login(
            username: body.username, password: body.password, mode: body.mode, clientAddress: clientAddress(request, context))
        {
        case .session(let id, let user, let expiresIn, let cookieLifetime):
            var response = try SessionResponse(expires_in: expiresIn, user: user).response(from: request, context: context)
            response.headers[.setCookie] = sessionCookie(id, maxAge: cookieLifetime)
            response.headers[.cacheControl] = "no-store"
            return response
        case .tokens(let grant):
            return try tokenResponse(grant, request: request, context: context)
        }
    }

    func refresh(_ request: Request, context: NodeRequestContext) async throws -> Response {
        let body = try await request.decode(as: RefreshRequest.self, context: context)
        return try tokenResponse(try await authentication.refresh(body.refresh_token, logger: context.logger), request: request, context: context)
    }

    func logout(_ request: Request, context: NodeRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        try await authentication.logout(identity)
        return clearingTheSessionCookie(of: identity)
    }

    func logoutAll(_ request: Request, context: NodeRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        try await authentication.logoutAll(identity)
        return clearingTheSessionCookie(of: identity)
    }

    static let forwardedFor = HTTPField.Name("X-Forwarded-For")!

    /// The TCP peer's address or, behind a trusted proxy, the last `X-Forwarded-For` entry: the
    /// one that proxy appended (entries before it are whatever the client sent).
    private func clientAddress(_ request: Request, _ context: NodeRequestContext) -> String? {
        if trustForwardedFor, let forwarded = request.headers[values: Self.forwardedFor].last,
            let last = forwarded.split(separator: ",").last?.trimmingCharacters(in: .whitespaces), !last.isEmpty
        {
            return last
        }
        return context.remoteAddress?.ipAddress
    }

    /// 204, and a session's cookie cleared.
    private func clearingTheSessionCookie(of identity: Identity) -> Response {
        var response = Response(status: .noContent)
        if case .session = identity.proof {
            response.headers[.setCookie] = sessionCookie("", maxAge: 0)
        }
        return response
    }

    private func tokenResponse(_ grant: Authentication.TokenGrant, request: Request, context: NodeRequestContext) throws -> Response {
        var response = try TokenResponse(
            access_token: grant.accessToken, expires_in: grant.expiresIn, refresh_token: grant.refreshToken,
            refresh_expires_in: grant.refreshExpiresIn
        ).response(from: request, context: context)
        response.headers[.cacheControl] = "no-store"
        return response
    }

    private func sessionCookie(_ value: String, maxAge: Int) -> String {
        "sid=\(value); Path=/; HttpOnly; SameSite=Lax; Max-Age=\(maxAge)" + (secureCookies ? "; Secure" : "")
    }
}
