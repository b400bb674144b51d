import AuthCore
import Hummingbird
import HummingbirdCore
import Logging
import Prometheus

/// The one composition root: a node's router and services from its configuration.
public func buildApplication(
    _ configuration: NodeConfiguration,
    backend: AuthBackend,
    metricsRegistry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
    logger: Logger
) throws -> some ApplicationProtocol {
    let router = try buildRouter(configuration, backend: backend, metrics: NodeMetrics(registry: metricsRegistry))
    var logger = logger
    logger[metadataKey: "node"] = .string(configuration.nodeID)
    var decoder = HTTP1Channel.Configuration.DecoderConfiguration()
    // Larger than docs/api.md's 8 KiB so that RequestLimitMiddleware answers with JSON.
    decoder.maxHeaderListSize = 64 * 1024
    decoder.maxHeaderFieldSize = 64 * 1024
    return Application(
        router: router,
        server: .http1(configuration: .init(
            additionalChannelHandlers: [ClientRequestGuard(timeout: configuration.requestTimeout)],
            idleTimeout: configuration.idleTimeout, httpDecoderConfiguration: decoder)),
        configuration: .init(
            address: .hostname(configuration.host, port: configuration.port), serverName: "authbench-node",
            availableConnectionsDelegate: MaximumAvailableConnections(configuration.maxConnections, logger: logger)),
        services: backend.services,
        logger: logger
    )
}

public func buildRouter(_ configuration: NodeConfiguration, backend: AuthBackend, metrics: NodeMetrics) throws -> Router<NodeRequestContext> {
    let router = Router(context: NodeRequestContext.self)
    router.add(middleware: ErrorMiddleware(metrics: metrics))
    router.add(middleware: RequestLimitMiddleware())
    try OperationsRoutes(nodeID: configuration.nodeID, backend: backend, metrics: metrics, keyRing: configuration.keyRing)
        .add(to: router)

    let authRoutes = AuthRoutes(
        authentication: backend.authentication, secureCookies: configuration.secureCookies, trustForwardedFor: configuration.trustForwardedFor)
    authRoutes.addPublic(to: router.group("auth").add(middleware: JSONContentTypeMiddleware()))
    let authenticator = CredentialAuthenticator(authentication: backend.authentication)
    authRoutes.addAuthenticated(to: router.group("auth").add(middleware: JSONContentTypeMiddleware()).add(middleware: authenticator))
    APIRoutes(nodeID: configuration.nodeID).add(to: router.group("api").add(middleware: authenticator))
    AdminRoutes(authentication: backend.authentication)
        .add(to: router.group("admin").add(middleware: JSONContentTypeMiddleware()).add(middleware: authenticator))
    return router
}
