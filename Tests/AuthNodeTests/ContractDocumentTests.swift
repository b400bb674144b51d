import AuthNode
import Foundation
import Prometheus
import Testing

/// docs/api.md is the contract users read: it names exactly the routes the node serves.
@Suite struct ContractDocumentTests {
    static let document = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("docs/api.md")

    /// `METHOD /path` in backticks, on the document's route headings and table rows.
    static func documentedRoutes(in text: String) -> Set<String> {
        let route = /`(GET|POST|PUT|PATCH|DELETE) (\/[A-Za-z0-9_.\/{}-]*)`/
        var routes = Set<String>()
        for line in text.split(separator: "\n") where line.hasPrefix("### ") || line.hasPrefix("| `") {
            for match in line.matches(of: route) { routes.insert("\(match.1) \(match.2)") }
        }
        return routes
    }

    @Test func theDocumentNamesEveryRouteTheRouterHasAndNoOther() async throws {
        let node = try await NodeHarness.make(.inMemory)
        let router = try buildRouter(node.configuration, backend: node.backend, metrics: NodeMetrics(registry: PrometheusCollectorRegistry()))
        let served = Set(router.routes.map { "\($0.method) \($0.path)" })
        let documented = Self.documentedRoutes(in: try String(contentsOf: Self.document, encoding: .utf8))
        #expect(served.count >= 10, "the router's routes were read: \(served.sorted())")
        #expect(served.subtracting(documented).isEmpty, "served but not in docs/api.md: \(served.subtracting(documented).sorted())")
        #expect(documented.subtracting(served).isEmpty, "in docs/api.md but not served: \(documented.subtracting(served).sorted())")
    }

    @Test func routesAreReadFromHeadingsAndTableRowsOnly() {
        let text = """
            ### `GET /a/{id}` and `PUT /a/{id}`
            | `GET /b` | x |
            Every `POST /c/...` in prose is not a route.
            """
        #expect(Self.documentedRoutes(in: text) == ["GET /a/{id}", "PUT /a/{id}", "GET /b"])
    }
}
