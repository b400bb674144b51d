import AuthCore
import AuthNode
import Dispatch
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOEmbedded
import Prometheus

/// Client bytes into what a node does with them: the access-token verifier, and a whole
/// request through a node's router on in-memory stores. A crash, or a 5xx from the router,
/// is a finding. Used by libFuzzer (`scripts/fuzz`) and by the corpus regression test.
public final class FuzzTargets: Sendable {
    /// Fixed, so that seed tokens in the corpus stay valid: 2027-01-15.
    public static let now: Double = 1_800_000_000
    /// The fuzzing node's HS256 key: public on purpose, it signs only the corpus's seeds.
    public static let key = Array("authbench fuzzing key: public, signs only corpus seeds".utf8)

    let accessTokens: AccessTokens
    let respond: @Sendable (Request, NodeRequestContext) async throws -> Response

    public static let shared: FuzzTargets = blocking { try await FuzzTargets() }

    init() async throws {
        let clock = ManualClock(Self.now)
        let keyRing = JWTKeyRing(current: try await JWTKeyRing.loadKey(algorithm: .hs256, contents: Self.key))
        let configuration = NodeConfiguration(nodeID: "fuzz", keyRing: keyRing, bcryptCost: 4, loginAttemptLimit: 1_000_000)
        let backend = AuthBackend.inMemory(configuration, clock: clock)
        let hash = try await backend.passwordHasher.hash("fuzz-password")
        try await backend.users.save(UserRecord(username: "writer1", name: "Writer One", role: .writer, passwordHash: hash))
        accessTokens = backend.accessTokens
        let responder = try buildRouter(configuration, backend: backend, metrics: NodeMetrics(registry: PrometheusCollectorRegistry())).buildResponder()
        respond = { request, context in try await responder.respond(to: request, context: context) }
    }

    /// A valid access token for writer1 at `now`, for seeding the corpus.
    public func seedToken() throws -> String {
        try accessTokens.issue(for: UserClaims(sub: "writer1", name: "Writer One", role: .writer), family: "seed").token
    }

    static let routes: [(HTTPRequest.Method, String)] = [
        (.get, "/api/me"), (.post, "/auth/login"), (.post, "/auth/refresh"), (.post, "/auth/logout"),
        (.post, "/auth/logout-all"), (.get, "/api/articles/"), (.put, "/api/articles/"), (.get, "/"),
    ]

    /// Runs one input; returns what was wrong, or nil.
    public func run(_ input: [UInt8]) -> String? {
        guard let (request, status) = routerResponse(input) else { return nil }
        return status >= 500 ? "\(request.method) \(request.uri): status \(status)" : nil
    }

    /// Byte 0 chooses the target: even, the token verifier over the rest (nil is returned);
    /// odd, the router, with byte 1 the route, byte 2 where the first part goes (Bearer token,
    /// sid cookie, raw Authorization, raw Cookie, path), and the rest split at the first zero
    /// byte into that part and the body. Returns the request and the status it got.
    public func routerResponse(_ input: [UInt8]) -> (Request, Int)? {
        guard let selector = input.first else { return nil }
        if selector.isMultiple(of: 2) {
            _ = try? accessTokens.verify(String(decoding: input.dropFirst(), as: UTF8.self))
            return nil
        }
        let route = Self.routes[Int(input.count > 1 ? input[1] : 0) % Self.routes.count]
        let placement = Int(input.count > 2 ? input[2] : 0) % 5
        let rest = input.dropFirst(3)
        let split = rest.firstIndex(of: 0)
        let part = String(decoding: rest[..<(split ?? rest.endIndex)], as: UTF8.self)
        let body = split.map { Array(rest[($0 + 1)...]) } ?? []

        var path = route.1
        var headers: HTTPFields = [.contentType: "application/json"]
        switch placement {
        case 0: headers[.authorization] = "Bearer " + part
        case 1: headers[.cookie] = "sid=" + part
        case 2: headers[.authorization] = part
        case 3: headers[.cookie] = part
        default: path += part.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? ""
        }
        let request = Request(
            head: HTTPRequest(method: route.0, scheme: "http", authority: "fuzz", path: path, headerFields: headers),
            body: RequestBody(buffer: ByteBuffer(bytes: body)))
        let status = Self.blocking { () async -> Int in
            let context = NodeRequestContext(source: .init(channel: NIOAsyncTestingChannel(), logger: Logger(label: "fuzz")))
            do {
                return try await self.respond(request, context).status.code
            } catch let error as HTTPResponseError {
                return error.status.code
            } catch {
                return 599
            }
        }
        return (request, status)
    }

    /// Waits on an async operation from a synchronous caller (libFuzzer's thread, never the cooperative pool).
    static func blocking<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) -> T {
        let result = ResultBox<T>()
        let done = DispatchSemaphore(value: 0)
        Task {
            do { result.value = .success(try await operation()) } catch { result.value = .failure(error) }
            done.signal()
        }
        done.wait()
        return try! result.value!.get()
    }
}

private final class ResultBox<T>: @unchecked Sendable {
    var value: Result<T, any Error>?
}
