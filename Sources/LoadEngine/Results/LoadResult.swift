import Foundation
import Histogram

/// One mode's measurements.
public struct ModeResult: Sendable {
    public var mode: AuthMode
    /// 1, 2, ... in a staged run; nil otherwise.
    public var stage: Int?
    public var recorder: ConnectionRecorder
    public var durationSeconds: Double
    /// The open-loop rate asked of this mode's connections; nil for a closed loop.
    public var requestedRate: Double?
    public var loginLatency: Histogram<UInt64>?
    public var loginFailures: [String: Int]
    /// What the cluster spent in this run's measured phase; in a run of several modes at once,
    /// all of them together.
    public var resources: ResourceUse?

    public var throughput: Double { Double(recorder.requests) / durationSeconds }
}

public struct LoadResult: Sendable {
    public var startedAt: Date
    public var plan: LoadPlan
    public var runs: [ModeResult]
    /// What happened at the plan's timed events, in order.
    public var events: [EventRecord] = []
}

/// A timed event as it happened: when (seconds into the measured time, stages end to end), what, and how it went.
public struct EventRecord: Codable, Sendable, Equatable {
    public var at_s: Double
    public var name: String
    public var ok: Bool
    public var detail: String
    /// Numbers the event measured, e.g. `jwt_revoked_s`.
    public var values: [String: Double]?

    public init(at_s: Double, name: String, ok: Bool, detail: String, values: [String: Double]? = nil) {
        self.at_s = at_s
        self.name = name
        self.ok = ok
        self.detail = detail
        self.values = values
    }
}

/// How a timed event went.
public struct EventOutcome: Sendable {
    public var ok: Bool
    public var detail: String
    public var values: [String: Double]

    public init(ok: Bool, detail: String, values: [String: Double] = [:]) {
        self.ok = ok
        self.detail = detail
        self.values = values
    }
}

/// The result file (`result.json`); fields are added over time, none taken away.
public struct ResultFile: Codable, Sendable {
    public var tool = "authbench-load"
    public var version = LoadKitVersion.current
    public var started_at: String
    public var config: Config
    public var runs: [Run]
    /// The timed events of a scenario run; absent otherwise.
    public var events: [EventRecord]?

    public struct Config: Codable, Sendable {
        public var targets: [String]
        public var modes: [AuthMode]
        public var path: String
        public var rate: Double?
        public var connections: Int
        public var users: Int
        public var duration_s: Double
        public var warmup_s: Double
        public var stages: [String]?
        public var label: String?
    }

    public struct Percentiles: Codable, Sendable, Equatable {
        public var p50: UInt64
        public var p90: UInt64
        public var p99: UInt64
        public var p999: UInt64
        public var max: UInt64
        public var mean: Double

        init(_ histogram: Histogram<UInt64>) {
            let empty = histogram.totalCount == 0
            p50 = empty ? 0 : histogram.valueAtPercentile(50)
            p90 = empty ? 0 : histogram.valueAtPercentile(90)
            p99 = empty ? 0 : histogram.valueAtPercentile(99)
            p999 = empty ? 0 : histogram.valueAtPercentile(99.9)
            max = empty ? 0 : histogram.max
            mean = empty ? 0 : (histogram.mean * 10).rounded() / 10
        }
    }

    public struct Second: Codable, Sendable {
        public var t: Int
        public var rps: Int
        public var p99_us: UInt64
        public var errors: Int
    }

    public struct Run: Codable, Sendable {
        public var mode: AuthMode
        public var stage: Int?
        public var requests: Int
        public var errors: Int
        public var duration_s: Double
        public var throughput_rps: Double
        public var latency_us: Percentiles
        public var latency_uncorrected_us: Percentiles
        public var status_counts: [String: Int]
        public var per_second: [Second]
        public var errors_by_cause: [String: Int]
        public var requested_rate_rps: Double?
        public var late_sends: Int
        public var login_latency_us: Percentiles?
        public var login_failures: [String: Int]
        /// JWT refreshes during the run and logins again after a 401, with their latency.
        public var refreshes: Int?
        public var refresh_latency_us: Percentiles?
        public var relogins: Int?
        public var relogin_latency_us: Percentiles?
        public var renewal_failures: Int?
        /// Mean bytes of a recorded request and of its response, as the generator wrote and read them.
        public var request_bytes: Double?
        public var response_bytes: Double?
        /// What the cluster spent in the measured phase (`authbench-load bench --cluster`); in a
        /// run of several modes at once, all of them together.
        public var resources: ResourceUse?

        /// Where `ResultDirectory` writes this run's percentile distribution.
        public var hgrmFileName: String {
            stage.map { "\(mode.rawValue)-stage\($0).hgrm" } ?? "\(mode.rawValue).hgrm"
        }

        /// The mode, with its stage's rate in a staged run: "jwt @ 2000/s".
        public var label: String {
            guard stage != nil, let rate = requested_rate_rps else { return mode.rawValue }
            return "\(mode.rawValue) @ \(Int(rate.rounded()))/s"
        }
    }

    public init(_ result: LoadResult) {
        let formatter = ISO8601DateFormatter()
        started_at = formatter.string(from: result.startedAt)
        let plan = result.plan
        config = Config(
            targets: plan.targets.map(\.description), modes: plan.modes, path: plan.path, rate: plan.rate,
            connections: plan.connections, users: plan.users, duration_s: Double(plan.duration.nanoseconds) / 1e9,
            warmup_s: Double(plan.warmup.nanoseconds) / 1e9,
            stages: plan.stages?.map { "\(Int($0.rate ?? 0)):\(Double($0.duration.nanoseconds) / 1e9)s" },
            label: plan.label)
        events = result.events.isEmpty ? nil : result.events
        runs = result.runs.map { run in
            let recorder = run.recorder
            return Run(
                mode: run.mode, stage: run.stage, requests: recorder.requests, errors: recorder.errorCount,
                duration_s: run.durationSeconds, throughput_rps: (run.throughput * 10).rounded() / 10,
                latency_us: Percentiles(recorder.latency), latency_uncorrected_us: Percentiles(recorder.uncorrectedLatency),
                status_counts: Dictionary(uniqueKeysWithValues: recorder.statusCounts.map { (String($0.key), $0.value) }),
                per_second: recorder.perSecond.enumerated().map { index, bucket in
                    Second(
                        t: index, rps: bucket.requests,
                        p99_us: bucket.latency.totalCount == 0 ? 0 : bucket.latency.valueAtPercentile(99), errors: bucket.errors)
                },
                errors_by_cause: recorder.errors, requested_rate_rps: run.requestedRate, late_sends: recorder.lateSends,
                login_latency_us: run.loginLatency.map(Percentiles.init), login_failures: run.loginFailures,
                refreshes: Int(recorder.refreshLatency.totalCount),
                refresh_latency_us: recorder.refreshLatency.totalCount == 0 ? nil : Percentiles(recorder.refreshLatency),
                relogins: Int(recorder.reloginLatency.totalCount),
                relogin_latency_us: recorder.reloginLatency.totalCount == 0 ? nil : Percentiles(recorder.reloginLatency),
                renewal_failures: recorder.renewalFailures,
                request_bytes: recorder.requests == 0 ? nil : Double(recorder.requestBytes) / Double(recorder.requests),
                response_bytes: recorder.requests == 0 ? nil : Double(recorder.responseBytes) / Double(recorder.requests),
                resources: run.resources)
        }
    }

    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }
}

public enum LoadKitVersion {
    public static let current = "0.1.0"
}
