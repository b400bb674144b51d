import AuthCore
import HTTPTypes
import Hummingbird

/// Every error a client sees: `{"error": "<code>", "message": "<text>"}` with its status.
public struct APIError: HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        json.response(status: status, headers: headers)
    }

    /// `{"error": code, "message": message}`.
    var json: JSONResponse {
        var json = JSONResponse()
        json.add("error", code)
        json.add("message", message)
        return json
    }

    static func badRequest(_ message: String) -> APIError { APIError(.badRequest, "bad_request", message) }
    static let headersTooLarge = APIError(.contentTooLarge, "payload_too_large", "the request headers exceed 8 KiB")
    static let bodyTooLarge = APIError(.contentTooLarge, "payload_too_large", "the request body exceeds 16 KiB")
    static let notHTTP = APIError.badRequest("the request is not valid HTTP/1.1")

    /// The status, code and message docs/api.md gives each way authentication fails.
    init(_ failure: Authentication.Failure) {
        let invalidToken = #"Bearer error="invalid_token""#
        switch failure {
        case .invalidRequest(let message): self = .badRequest(message)
        case .unsupportedMode: self.init(.badRequest, "unsupported_mode", "mode must be \"session\" or \"jwt\"")
        case .tooManyAttempts(let retryAfter):
            self.init(
                .tooManyRequests, "too_many_attempts", "too many failed logins for this user; wait before trying again",
                headers: [.retryAfter: String(retryAfter)])
        case .tooManyAttemptsFromAddress(let retryAfter):
            self.init(
                .tooManyRequests, "too_many_attempts", "too many failed logins from this address; wait before trying again",
                headers: [.retryAfter: String(retryAfter)])
        case .loginBusy:
            self.init(.serviceUnavailable, "login_busy", "this node is checking as many passwords as it may; try again", headers: [.retryAfter: "1"])
        case .invalidCredentials: self.init(.unauthorized, "invalid_credentials", "unknown user or wrong password")
        case .invalidGrant: self.init(.unauthorized, "invalid_grant", "the refresh token is unknown, expired, revoked or already used")
        case .missingCredentials:
            self.init(.unauthorized, "missing_credentials", "this endpoint needs a Bearer token or a session cookie", headers: [.wwwAuthenticate: "Bearer"])
        case .ambiguousCredentials: self.init(.badRequest, "ambiguous_credentials", "send a Bearer token or a session cookie, not both")
        case .invalidToken(let reason): self.init(.unauthorized, "invalid_token", reason, headers: [.wwwAuthenticate: invalidToken])
        case .tokenExpired:
            self.init(
                .unauthorized, "token_expired", "the access token has expired; refresh it",
                headers: [.wwwAuthenticate: invalidToken + #", error_description="expired""#])
        case .invalidSession: self.init(.unauthorized, "invalid_session", "the session is unknown or has expired; log in again")
        case .revocationUnavailable: self = .revocationUnavailable
        case .forbidden(let reason): self.init(.forbidden, "forbidden", reason)
        case .unknownUser: self.init(.notFound, "unknown_user", "there is no such user")
        }
    }
    static let storeUnavailable = APIError(.serviceUnavailable, "store_unavailable", "the session store is not answering; try again")
    static let revocationUnavailable = APIError(
        .serviceUnavailable, "store_unavailable", "this node's revocation list may be out of date (its Redis channel is not answering); try again")
}
