import AuthCore
import Hummingbird
import NIOCore
import NIOHTTP1
import Prometheus
import RedisClient

/// The outermost middleware: reads the request's credential for everything behind it, turns
/// every error into docs/api.md's JSON shape (a Redis failure into 503 `store_unavailable`,
/// anything unexpected into a logged 500) and records each request's count and latency by
/// route, auth mode and status.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = NodeRequestContext

    let metrics: NodeMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        var context = context
        context.credential = RequestCredential.read(request.headers)
        let response: Response
        do {
            response = try await next(request, context)
        } catch {
            response = try Self.response(for: error, request: request, context: context)
        }
        metrics.record(route: context.endpointPath ?? "unmatched", mode: context.credential.mode, status: response.status.code, since: start)
        return response
    }

    static func response(for error: any Error, request: Request, context: Context) throws -> Response {
        let apiError: APIError
        switch error {
        case let error as APIError:
            apiError = error
        case let failure as Authentication.Failure:
            apiError = APIError(failure)
        case let error as HTTPError:
            apiError = APIError(error.status, code(for: error.status), error.body ?? error.status.reasonPhrase)
        case is NIOTooManyBytesError:
            apiError = .bodyTooLarge
        case let error as HTTPParserError:
            // Met while the body is read (a chunk size that is not hex, an unknown transfer coding).
            apiError = .badRequest("the request is not valid HTTP/1.1: \(error)")
        case is RedisError:
            context.logger.warning("store unavailable", metadata: ["error": "\(error)"])
            apiError = .storeUnavailable
        case is DecodingError:
            apiError = .badRequest("the body is not the JSON this endpoint takes")
        default:
            context.logger.error("unexpected error", metadata: ["error": "\(error)"])
            apiError = APIError(.internalServerError, "internal_error", "unexpected error")
        }
        return try apiError.response(from: request, context: context)
    }

    static func code(for status: HTTPResponse.Status) -> String {
        switch status.code {
        case 404, 405: "not_found"
        case 413: "payload_too_large"
        case 401: "missing_credentials"
        case 503: "store_unavailable"
        default: "bad_request"
        }
    }
}
