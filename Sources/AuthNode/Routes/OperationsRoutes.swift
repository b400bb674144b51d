import AuthCore
import Foundation
import Hummingbird

/// `/healthz`, `/readyz`, `/metrics`, `/.well-known/jwks.json`: no authentication.
struct OperationsRoutes {
    let nodeID: String
    let backend: AuthBackend
    let metrics: NodeMetrics
    let jwks: [UInt8]

    init(nodeID: String, backend: AuthBackend, metrics: NodeMetrics, keyRing: JWTKeyRing) throws {
        self.nodeID = nodeID
        self.backend = backend
        self.metrics = metrics
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        self.jwks = Array(try encoder.encode(keyRing.jwks))
    }

    func add(to router: Router<NodeRequestContext>) {
        router.get("healthz") { _, _ in
            var json = JSONResponse()
            json.add("status", "ok")
            json.add("node", nodeID)
            return json.response()
        }
        router.get("readyz") { _, _ in
            guard await backend.isReady() else {
                throw APIError(.serviceUnavailable, "store_unavailable", "not ready: Redis is not answering, or the revocation list is not current")
            }
            var json = JSONResponse()
            json.add("status", "ready")
            json.add("node", nodeID)
            return json.response()
        }
        router.get("metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: metrics.render(revocationListEntries: backend.revocationList.count))))
        }
        router.get(".well-known/jwks.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: jwks)))
        }
    }
}
