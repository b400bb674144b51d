import CoreMetrics
import Synchronization

/// Latency of every command and its failures, by command name, through swift-metrics.
/// The metric objects are made once per name and reused.
final class RedisCommandMetrics: Sendable {
    private let factory: any MetricsFactory
    private let timers = Mutex<[String: Timer]>([:])
    private let failures = Mutex<[String: Counter]>([:])

    init(factory: any MetricsFactory) {
        self.factory = factory
    }

    func recordSuccess(_ command: String, nanoseconds: Int64) {
        timer(command).recordNanoseconds(nanoseconds)
    }

    func recordFailure(_ command: String, nanoseconds: Int64, _ error: RedisError) {
        timer(command).recordNanoseconds(nanoseconds)
        let kind = Self.kind(of: error)
        let key = command + " " + kind
        let counter = failures.withLock { counters in
            if let existing = counters[key] { return existing }
            let made = Counter(
                label: "authbench_redis_command_errors_total", dimensions: [("command", command), ("error", kind)], factory: factory)
            counters[key] = made
            return made
        }
        counter.increment()
    }

    private func timer(_ command: String) -> Timer {
        timers.withLock { timers in
            if let existing = timers[command] { return existing }
            let made = Timer(
                label: "authbench_redis_command_duration_seconds", dimensions: [("command", command)],
                factory: factory)
            timers[command] = made
            return made
        }
    }

    private static func kind(of error: RedisError) -> String {
        switch error {
        case .timeout: "timeout"
        case .connectionFailed, .connectionClosed, .shutdown: "connection"
        case .authenticationFailed: "authentication"
        case .server: "server"
        case .protocolError, .unexpectedReply, .invalidURL: "protocol"
        }
    }
}
