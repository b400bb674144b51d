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
        var json = JSONResponse()
        json.add("error", code)
        json.add("message", message)
        return json.response(status: status, headers: headers)
    }

    static func badRequest(_ message: String) -> APIError { APIError(.badRequest, "bad_request", message) }
    static let storeUnavailable = APIError(.serviceUnavailable, "store_unavailable", "the session store is not answering; try again")
    static let revocationUnavailable = APIError(
        .serviceUnavailable, "store_unavailable", "this node's revocation list may be out of date (its Redis channel is not answering); try again")
}
