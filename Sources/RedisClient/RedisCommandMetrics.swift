import CoreMetrics
import Synchronization

/// Latency of every command and its failures, by command name, through swift-metrics.
/// The metric objects are made once per name and reused.
final class RedisCommandMetrics: Sendable {
    private let factory: any MetricsFactory
    private let durationLabel: String
    private let failureLabel: String
    private let timers = Mutex<[String: Timer]>([:])
    private let failures = Mutex<[String: Counter]>([:])

    /// `labelPrefix` names the metrics: `<prefix>_command_duration_seconds` and `<prefix>_command_errors_total`.
    init(factory: any MetricsFactory, labelPrefix: String) {
        self.factory = factory
        durationLabel = labelPrefix + "_command_duration_seconds"
        failureLabel = labelPrefix + "_command_errors_total"
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
                label: failureLabel, dimensions: [("command", command), ("error", kind)], factory: factory)
            counters[key] = made
            return made
        }
        counter.increment()
    }

    private func timer(_ command: String) -> Timer {
        timers.withLock { timers in
            if let existing = timers[command] { return existing }
            let made = Timer(
                label: durationLabel, dimensions: [("command", command)],
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
