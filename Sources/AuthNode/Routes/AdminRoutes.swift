import AuthCore
import Hummingbird

/// `/admin/users/{name}/role`: an admin changes a user's role; the rules in `Authentication`.
struct AdminRoutes {
    let authentication: Authentication

    struct RoleRequest: Decodable {
        var role: String
    }

    struct RoleResponse: ResponseEncodable {
        var sub: String
        var role: Role
        /// The user's live sessions, which now carry the role.
        var sessions: Int
        /// The refresh families renewed (and, with push revocation, their access tokens refused).
        var token_families: Int
    }

    func add(to group: RouterGroup<NodeRequestContext>) {
        group.put("users/:name/role", use: changeRole)
    }

    func changeRole(_ request: Request, context: NodeRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let body = try await request.decode(as: RoleRequest.self, context: context)
        guard let role = Role(rawValue: body.role) else {
            throw APIError.badRequest("role must be one of \(Role.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let username = context.parameters.get("name") ?? ""
        let change = try await authentication.changeRole(of: username, to: role, by: identity)
        return try RoleResponse(sub: username, role: role, sessions: change.sessions, token_families: change.tokenFamilies)
            .response(from: request, context: context)
    }
}
