import Hummingbird

/// `/auth/*` POSTs and `/admin/*` PUTs must say `Content-Type: application/json` (parameters
/// such as a charset allowed), or get 415. A cross-site HTML form can only send form encodings or
/// `text/plain`, and a script may send JSON cross-site only after a CORS preflight the node
/// never grants: so no other site can log a browser in as its own user, or out.
struct JSONContentTypeMiddleware: RouterMiddleware {
    typealias Context = NodeRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .post || request.method == .put else { return try await next(request, context) }
        let mediaType = request.headers[.contentType]?.prefix { $0 != ";" }.filter { $0 != " " && $0 != "\t" }.lowercased()
        guard mediaType == "application/json" else {
            throw APIError(.unsupportedMediaType, "unsupported_media_type", "this endpoint takes Content-Type: application/json")
        }
        return try await next(request, context)
    }
}
