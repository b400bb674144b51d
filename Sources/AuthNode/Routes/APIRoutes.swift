import AuthCore
import Foundation
import Hummingbird
import HummingbirdAuth

/// `/api/me` and `/api/articles/{id}`: authorization by role.
struct APIRoutes {
    let nodeID: String

    func add(to group: RouterGroup<NodeRequestContext>) {
        group.get("me", use: me)
        group.get("articles/:id", use: readArticle)
        group.put("articles/:id", use: editArticle)
    }

    func me(_ request: Request, context: NodeRequestContext) throws -> Response {
        let identity = try context.requireIdentity()
        var json = JSONResponse()
        json.add("sub", identity.user.sub)
        json.add("name", identity.user.name)
        json.add("role", identity.user.role.rawValue)
        json.add("auth", identity.mode)
        json.add("node", nodeID)
        return json.response()
    }

    func readArticle(_ request: Request, context: NodeRequestContext) throws -> Response {
        _ = try context.requireIdentity()
        let id = try articleID(context)
        var json = JSONResponse()
        json.add("id", id)
        json.add("title", "Article \(id)")
        json.add("node", nodeID)
        return json.response()
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
        // Echoed as it came, so it must be what the response is: UTF-8 JSON with no byte-order
        // mark. JSONSerialization alone also takes UTF-16 and UTF-32 and skips a BOM; JSON text
        // in UTF-8 has no control byte but its whitespace, which those encodings of JSON do.
        guard String(validating: bytes, as: UTF8.self) != nil, !bytes.starts(with: [0xEF, 0xBB, 0xBF]),
            !bytes.contains(where: { $0 < 0x20 && $0 != 0x09 && $0 != 0x0A && $0 != 0x0D }),
            (try? JSONSerialization.jsonObject(with: bytes, options: [.fragmentsAllowed])) != nil
        else {
            throw APIError.badRequest("the body must be JSON in UTF-8")
        }
        var echo = ByteBuffer()
        echo.writeString(#"{"id":"#)
        JSONResponse.writeQuoted(id, into: &echo)
        echo.writeString(#","node":"#)
        JSONResponse.writeQuoted(nodeID, into: &echo)
        echo.writeString(#","article":"#)
        echo.writeBytes(bytes)
        echo.writeString("}")
        return Response(status: .ok, headers: JSONResponse.headers, body: .init(byteBuffer: echo))
    }

    private func articleID(_ context: NodeRequestContext) throws -> String {
        guard let id = context.parameters.get("id"), (1...128).contains(id.utf8.count) else {
            throw APIError.badRequest("the article id must be 1 to 128 characters")
        }
        return id
    }
}
