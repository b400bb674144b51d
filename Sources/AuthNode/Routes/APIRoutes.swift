import AuthCore
import Foundation
import Hummingbird
import HummingbirdAuth

/// `/api/me` and `/api/articles/{id}`: authorization by role.
struct APIRoutes {
    let nodeID: String

    struct Me: ResponseEncodable {
        var sub: String
        var name: String
        var role: Role
        var auth: String
        var node: String
    }

    struct Article: ResponseEncodable {
        var id: String
        var title: String
        var node: String
    }

    func add(to group: RouterGroup<NodeRequestContext>) {
        group.get("me", use: me)
        group.get("articles/:id", use: readArticle)
        group.put("articles/:id", use: editArticle)
    }

    func me(_ request: Request, context: NodeRequestContext) throws -> Me {
        let identity = try context.requireIdentity()
        return Me(sub: identity.user.sub, name: identity.user.name, role: identity.user.role, auth: identity.mode, node: nodeID)
    }

    func readArticle(_ request: Request, context: NodeRequestContext) throws -> Article {
        _ = try context.requireIdentity()
        let id = try articleID(context)
        return Article(id: id, title: "Article \(id)", node: nodeID)
    }

    /// Echoes the JSON body with the article id and node id; writers and admins only.
    func editArticle(_ request: Request, context: NodeRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        guard identity.user.role.mayEditArticles else {
            throw APIError(.forbidden, "forbidden", "the role \(identity.user.role.rawValue) may not edit articles")
        }
        let id = try articleID(context)
        let body = try await request.body.collect(upTo: APILimits.maximumBodySize)
        let bytes = Data(buffer: body)
        guard (try? JSONSerialization.jsonObject(with: bytes, options: [.fragmentsAllowed])) != nil else {
            throw APIError.badRequest("the body must be JSON")
        }
        var echo = ByteBuffer()
        echo.writeString(#"{"id":"#)
        echo.writeBytes(try JSONEncoder().encode(id))
        echo.writeString(#","node":"#)
        echo.writeBytes(try JSONEncoder().encode(nodeID))
        echo.writeString(#","article":"#)
        echo.writeBytes(bytes)
        echo.writeString("}")
        return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: echo))
    }

    private func articleID(_ context: NodeRequestContext) throws -> String {
        guard let id = context.parameters.get("id"), (1...128).contains(id.utf8.count) else {
            throw APIError.badRequest("the article id must be 1 to 128 characters")
        }
        return id
    }
}
