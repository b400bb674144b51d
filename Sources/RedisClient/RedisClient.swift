import CoreMetrics
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// The project's Redis client: pipelined, pooled, non-blocking. hiredis encodes commands
/// and parses replies; SwiftNIO moves the bytes.
///
/// Run it as a `Service` so that graceful shutdown closes its connections, or call
/// `shutdown()` yourself. Calls made before `run()` work too: connections open on first use.
/// Each command's latency and failures go to `metricsFactory` (swift-metrics) as
/// `<metricsLabelPrefix>_command_duration_seconds` and `<metricsLabelPrefix>_command_errors_total`,
/// by command name.
public final class RedisClient: Service, Sendable {
    public let configuration: RedisConfiguration
    let eventLoopGroup: any EventLoopGroup
    let logger: Logger
    private let pool: RedisConnectionPool

    public init(
        configuration: RedisConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        metricsFactory: any MetricsFactory = MetricsSystem.factory,
        metricsLabelPrefix: String = "redis",
        logger: Logger = Logger(label: "RedisClient")
    ) {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        self.pool = RedisConnectionPool(
            configuration: configuration, eventLoopGroup: eventLoopGroup,
            metrics: RedisCommandMetrics(factory: metricsFactory, labelPrefix: metricsLabelPrefix), logger: logger)
    }

    /// Sends one command and waits for its reply. Throws only `RedisError`; an error reply
    /// throws `RedisError.server`.
    public func send(_ command: RedisCommand) async throws -> RESPValue {
        try await pool.send(command)
    }

    /// Opens every pooled connection now instead of on first use.
    public func connect() async throws {
        do {
            try await pool.connectAll()
        } catch let error as RedisError {
            throw error
        } catch {
            throw RedisError.connectionFailed("\(error)")
        }
    }

    /// Waits for graceful shutdown (or cancellation), then closes every connection.
    public func run() async throws {
        try? await gracefulShutdown()
        await shutdown()
    }

    /// Closes every connection; later calls fail with `RedisError.shutdown`.
    public func shutdown() async {
        await pool.shutdown()
        logger.debug("redis client shut down", metadata: ["redis": "\(configuration)"])
    }
}
