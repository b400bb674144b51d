import Prometheus
import Synchronization

/// The node's Prometheus metrics, in the registry `/metrics` renders. The counter and
/// histogram of each (route, mode, status) are made once and then looked up by a small key.
public final class NodeMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let revocationListSize: Gauge
    private let handles = Mutex<[Labels: (Counter, DurationHistogram)]>([:])

    private struct Labels: Hashable {
        var route: String
        var mode: String
        var status: Int
    }

    /// The node's Redis client reports as `authbench_redis_command_duration_seconds` and
    /// `authbench_redis_command_errors_total` (the scenario runner reads the first).
    public static let redisLabelPrefix = "authbench_redis"

    static var requests: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "authbench", metricName: "requests", unitName: "total", helpText: "HTTP requests by route, auth mode and status")
    }
    static var latency: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "authbench", metricName: "request_duration", unitName: "seconds", helpText: "HTTP request latency")
    }
    static var revocations: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "authbench", metricName: "revocation_list", unitName: "entries",
            helpText: "Revoked access tokens and users held in memory")
    }
    static let latencyBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2),
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1),
    ]

    public init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        self.revocationListSize = registry.makeGauge(descriptor: Self.revocations)
    }

    func record(route: String, mode: String, status: Int, since start: ContinuousClock.Instant) {
        let key = Labels(route: route, mode: mode, status: status)
        let (counter, histogram) = handles.withLock { handles in
            if let existing = handles[key] { return existing }
            let labels = [("route", route), ("mode", mode), ("status", String(status))]
            let made = (
                registry.makeCounter(descriptor: Self.requests, labels: labels),
                registry.makeDurationHistogram(descriptor: Self.latency, labels: labels, buckets: Self.latencyBuckets)
            )
            handles[key] = made
            return made
        }
        counter.increment()
        histogram.record(ContinuousClock.now - start)
    }

    func render(revocationListEntries: Int) -> [UInt8] {
        revocationListSize.set(Double(revocationListEntries))
        return registry.emitToBuffer()
    }
}
