import Hummingbird

/// docs/api.md's limits: headers over 8 KiB, and bodies whose Content-Length announces more than
/// 16 KiB, get 413 before anything reads them (a body without a length is cut off at 16 KiB
/// by the request context as it is read).
struct RequestLimitMiddleware: RouterMiddleware {
    typealias Context = NodeRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var size = request.uri.description.utf8.count
        for field in request.headers {
            size += field.name.rawName.utf8.count + field.value.utf8.count + 4
        }
        guard size <= APILimits.maximumHeaderSize else {
            throw APIError.headersTooLarge
        }
        if let length = request.headers[.contentLength], let announced = Int(length), announced > APILimits.maximumBodySize {
            throw APIError.bodyTooLarge
        }
        return try await next(request, context)
    }
}
