import NIOCore

/// How a request authenticates.
public enum AuthMode: String, Sendable, CaseIterable, Codable, Comparable {
    case none
    case session
    case jwt
    /// A session on nodes that answer sessions from memory (`--session-cache tracking`): logged
    /// in and sent as `session`, with `routingHeader`, by which the load balancer of a
    /// `scripts/cluster --cached-nodes` cluster sends it to those nodes.
    case cachedSession = "session-cached"

    /// The header that routes a cached-session request to the caching nodes.
    public static let routingHeader = (name: "X-AuthBench-Contender", value: "cached")

    /// The `mode` a login asks the node for.
    public var loginMode: String { self == .cachedSession ? AuthMode.session.rawValue : rawValue }

    /// Headers every request of this mode carries besides its credential.
    public var routingHeaders: [(String, String)] { self == .cachedSession ? [Self.routingHeader] : [] }

    /// What the routing headers add to each request: bytes a deployment's own requests would not carry.
    public var routingHeaderBytes: Int { routingHeaders.reduce(0) { $0 + $1.0.utf8.count + 2 + $1.1.utf8.count + 2 } }

    /// By name, as reports list them.
    public static func < (lhs: AuthMode, rhs: AuthMode) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// What to run: the CLI's flags, checked.
public struct LoadPlan: Sendable {
    public var targets: [Target]
    /// One mode, or several measured side by side (their connections interleaved).
    public var modes: [AuthMode]
    public var path: String
    /// Requests per second in total (open loop); nil for a closed loop.
    public var rate: Double?
    public var connections: Int
    public var users: Int
    public var userPrefix: String
    public var password: String
    public var duration: TimeAmount
    public var warmup: TimeAmount
    public var loginConcurrency: Int
    /// Open-loop steps run back to back on the same users, each measured on its own; when set,
    /// `rate` and `duration` are ignored.
    public var stages: [Stage]?
    /// Free text naming the run in reports, e.g. "HS256 capacity".
    public var label: String?

    public struct Stage: Sendable, Hashable {
        public var rate: Double?
        public var duration: TimeAmount

        public init(rate: Double?, duration: TimeAmount) {
            self.rate = rate
            self.duration = duration
        }
    }

    /// What runs, in order: the stages, or one step of `rate` for `duration`.
    public var schedule: [Stage] {
        stages ?? [Stage(rate: rate, duration: duration)]
    }

    public init(
        targets: [Target], modes: [AuthMode], path: String = "/api/me", rate: Double? = nil, connections: Int = 32,
        users: Int = 32, userPrefix: String = "user", password: String = "", duration: TimeAmount = .seconds(30),
        warmup: TimeAmount = .seconds(5), loginConcurrency: Int = 16, stages: [Stage]? = nil, label: String? = nil
    ) {
        self.stages = stages
        self.label = label
        self.targets = targets
        self.modes = modes
        self.path = path
        self.rate = rate
        self.connections = connections
        self.users = users
        self.userPrefix = userPrefix
        self.password = password
        self.duration = duration
        self.warmup = warmup
        self.loginConcurrency = loginConcurrency
    }

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    public func validate() throws(Invalid) {
        guard !targets.isEmpty else { throw Invalid(description: "--targets: give at least one http://host:port") }
        guard connections >= modes.count else {
            throw Invalid(description: "--connections must be at least \(modes.count) to measure \(modes.count) modes")
        }
        if let rate { guard rate > 0 else { throw Invalid(description: "--rate must be positive") } }
        guard duration > .zero else { throw Invalid(description: "--duration must be positive") }
        if let stages {
            guard !stages.isEmpty else { throw Invalid(description: "--stages: give at least one RATE:DURATION") }
            for stage in stages {
                guard (stage.rate ?? 1) > 0, stage.duration > .zero else {
                    throw Invalid(description: "--stages: every stage needs a positive rate and duration, e.g. 1000:10s")
                }
            }
        }
        guard warmup >= .zero else { throw Invalid(description: "--warmup must not be negative") }
        if modes.contains(where: { $0 != .none }) {
            guard users >= 1 else { throw Invalid(description: "--users must be at least 1 for session or jwt mode") }
            guard !password.isEmpty else { throw Invalid(description: "--password is needed to log the virtual users in") }
        }
        guard path.hasPrefix("/") else { throw Invalid(description: "--path must start with /") }
    }
}
