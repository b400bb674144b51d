import Foundation
import LoadEngine
import LoadReports
import NIOCore
import Yams

/// A scenario file (`scenarios/NAME.yml`): the cluster it needs, the load in phases, the
/// events at given seconds of the measured time, and the claims its numbers must bear out.
public struct Scenario: Sendable {
    public struct Cluster: Sendable, Equatable {
        public var nodes = 3
        public var jwtAlgorithm = "HS256"
        public var revocation = "push"
        public var accessTokenTTL = 300
        public var redisTimeoutMs = 1000
        /// How stale a node's revocation list may get (no PING answered on its channel) before
        /// it refuses access tokens: the node's `--revocation-max-staleness-ms`.
        public var revocationMaxStalenessMs = 5000
        /// Nodes reach Redis through a delay proxy (needed by `redis_latency` events).
        public var redisProxy = false
        /// The nodes' `--session-cache`: `off` or `tracking`.
        public var sessionCache = "off"
        /// Where the cluster runs: `processes` (scripts/cluster, on loopback) or `containers`
        /// (scripts/containers: each node its own host on Docker networks).
        public var runtime = "processes"
    }

    public struct Phase: Sendable, Equatable {
        public var duration: TimeAmount
        /// Requests/s in total; nil for a closed loop.
        public var rate: Double?
        /// Load goes straight to the first N nodes instead of through the load balancer.
        public var nodes: Int?
    }

    public enum Action: Sendable, Equatable, CustomStringConvertible {
        case killNode(Int)
        case startNode(Int)
        /// The node loses its network to Redis (containers only) / gets it back.
        case partitionNode(Int)
        case healNode(Int)
        case stopRedis
        case startRedis
        case redisLatency(String)
        /// CLIENT KILL TYPE pubsub: every node's revocation feed closed (they resubscribe).
        case killFeed
        /// The delay proxy holds the subscribed connections' bytes without closing them.
        case stallFeed
        case resumeFeed
        /// Logout-all for this user, then how long until every node refuses its session and its token.
        case revokeUser(String)
        /// An admin gives this user another role, then how long until every node sees it.
        case changeRole(user: String, role: String, admin: String)
        case rotateKey
        /// This many sessions, cached on every node, deleted straight in Redis by a second client
        /// one after the other while every node is polled with each.
        case deleteSessions(Int)

        public var description: String {
            switch self {
            case .killNode(let node): "kill node \(node)"
            case .startNode(let node): "start node \(node)"
            case .partitionNode(let node): "cut node \(node) from Redis"
            case .healNode(let node): "reconnect node \(node) to Redis"
            case .stopRedis: "stop Redis"
            case .startRedis: "start Redis"
            case .redisLatency(let delay): "Redis latency \(delay)"
            case .killFeed: "kill the revocation feed"
            case .stallFeed: "stall the revocation feed"
            case .resumeFeed: "resume the revocation feed"
            case .revokeUser(let user): "revoke \(user)"
            case .changeRole(let user, let role, _): "make \(user) a \(role)"
            case .rotateKey: "rotate the signing key"
            case .deleteSessions(let count): "delete \(count) sessions in Redis"
            }
        }
    }

    public struct Event: Sendable, Equatable {
        public var at: TimeAmount
        public var action: Action
    }

    /// One claim about one mode's numbers, e.g. `errors < 1%`, `relogins == 0`, `revoked < 1s`,
    /// `demoted < 1s`.
    public struct Expectation: Sendable, CustomStringConvertible {
        public enum Kind: Sendable {
            case threshold(Threshold)
            case relogins(max: Int)
            /// Requests a node accepted with a deleted session after it had refused it once.
            case staleAccepts(max: Int)
            /// The slowest time an event measured, on every node, was under `within`.
            case caughtUp(EventMeasure, within: TimeAmount)
            case status(code: Int, atLeast: Int)

            /// The event value a probe records for `mode` and `staleAccepts` reads: `session_stale_accepts`.
            static func staleAcceptsValueName(_ mode: AuthMode) -> String { "\(mode.rawValue)_stale_accepts" }
        }

        /// What a probed event times until every node has caught up with it.
        public enum EventMeasure: String, Sendable, CaseIterable {
            /// Logout-all: every node refuses the user's credential.
            case revoked
            /// A role change: sessions carry the new role, tokens issued before are refused.
            case demoted
            /// Sessions deleted in Redis: from the DEL to the last request a node accepted with one.
            case staleWindow = "stale_window"

            /// The event value a probe records for `mode` and the claim reads: `jwt_revoked_s`.
            func valueName(_ mode: AuthMode) -> String { "\(mode.rawValue)_\(rawValue)_s" }
        }

        public var mode: AuthMode
        public var kind: Kind
        public var text: String
        public var description: String { "\(mode.rawValue): \(text)" }
    }

    public var name: String
    public var description: String
    public var cluster = Cluster()
    public var modes: [AuthMode] = [.session, .jwt]
    public var connections = 16
    public var users = 16
    public var warmup: TimeAmount = .seconds(3)
    public var phases: [Phase] = []
    public var events: [Event] = []
    public var expectations: [Expectation] = []
    /// `--quick` multiplies every duration and event time by this.
    public var quickScale = 0.25

    public var totalDuration: TimeAmount { .nanoseconds(phases.reduce(0) { $0 + $1.duration.nanoseconds }) }

    /// The same scenario with every time multiplied by `factor` (event order and phase shares kept).
    public func scaled(by factor: Double) -> Scenario {
        func scale(_ amount: TimeAmount) -> TimeAmount { .nanoseconds(Int64(Double(amount.nanoseconds) * factor)) }
        var copy = self
        copy.warmup = scale(warmup)
        copy.phases = phases.map { Phase(duration: scale($0.duration), rate: $0.rate, nodes: $0.nodes) }
        copy.events = events.map { Event(at: scale($0.at), action: $0.action) }
        return copy
    }
}

extension Scenario {
    /// What is wrong with a scenario file, with the line it is on.
    public struct Invalid: Error, CustomStringConvertible {
        public var line: Int?
        public var reason: String
        public var file = ""
        public var description: String { "\(file)\(line.map { ":\($0)" } ?? ""): \(reason)" }
    }

    public static func load(path: String) throws(Invalid) -> Scenario {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Invalid(reason: "cannot read the file", file: path)
        }
        do {
            return try parse(String(decoding: data, as: UTF8.self))
        } catch {
            var located = error
            located.file = path
            throw located
        }
    }

    public static func parse(_ text: String) throws(Invalid) -> Scenario {
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else { throw Invalid(line: 1, reason: "the file is empty") }
            root = node
        } catch let error as Invalid {
            throw error
        } catch let error as YamlError {
            throw Invalid(yamlError: error)
        } catch {
            throw Invalid(line: nil, reason: "not YAML: \(error)")
        }
        return try ScenarioParser(root: root).scenario()
    }
}

extension Scenario.Invalid {
    init(line: Int?, reason: String) {
        self.line = line
        self.reason = reason
    }

    init(yamlError: YamlError) {
        switch yamlError {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            self.init(line: mark.line, reason: "not valid YAML: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            self.init(line: context.mark.line, reason: "\(duplicates.joined(separator: ", ")) given twice")
        default:
            self.init(line: nil, reason: "not valid YAML: \(yamlError)")
        }
    }
}

/// Walks the YAML nodes, so that every complaint names the line it is about.
private struct ScenarioParser {
    typealias Invalid = Scenario.Invalid
    let root: Node

    func line(_ node: Node) -> Int? { node.mark?.line }

    func mapping(_ node: Node, _ what: String, allowed: Set<String>) throws(Invalid) -> [String: Node] {
        guard let mapping = node.mapping else { throw Invalid(line: line(node), reason: "\(what) must be a mapping of keys to values") }
        var result: [String: Node] = [:]
        for (key, value) in mapping {
            guard let name = key.string, allowed.contains(name) else {
                throw Invalid(line: line(key), reason: "unknown key '\(key.string ?? "?")' in \(what); expected one of \(allowed.sorted().joined(separator: ", "))")
            }
            result[name] = value
        }
        return result
    }

    func string(_ node: Node, _ what: String) throws(Invalid) -> String {
        guard let value = node.scalar?.string, !value.isEmpty else { throw Invalid(line: line(node), reason: "\(what) must be text") }
        return value
    }

    func integer(_ node: Node, _ what: String, in range: ClosedRange<Int>) throws(Invalid) -> Int {
        guard let value = node.int, range.contains(value) else {
            throw Invalid(line: line(node), reason: "\(what) must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    func duration(_ node: Node, _ what: String) throws(Invalid) -> TimeAmount {
        let text = node.scalar?.string ?? ""
        guard let amount = DurationText.parse(text) else {
            throw Invalid(line: line(node), reason: "\(what) must be a duration like 10s, 500ms or 1.5s (got '\(text)')")
        }
        return amount
    }

    func scenario() throws(Invalid) -> Scenario {
        let top = try mapping(root, "the scenario", allowed: ["name", "description", "cluster", "load", "events", "expect", "quick_scale"])
        guard let nameNode = top["name"] else { throw Invalid(line: line(root), reason: "a scenario needs a name") }
        guard let loadNode = top["load"] else { throw Invalid(line: line(root), reason: "a scenario needs load: with phases") }
        var scenario = Scenario(name: try string(nameNode, "name"), description: try top["description"].map { node throws(Invalid) in try string(node, "description") } ?? "")
        if let node = top["cluster"] { scenario.cluster = try cluster(node) }
        try load(loadNode, into: &scenario)
        if let node = top["events"] { scenario.events = try events(node, scenario) }
        if let node = top["expect"] { scenario.expectations = try expectations(node, modes: scenario.modes) }
        if let node = top["quick_scale"] {
            guard let value = node.float, value > 0, value <= 1 else { throw Invalid(line: line(node), reason: "quick_scale must be a number above 0, at most 1") }
            scenario.quickScale = value
        }
        return scenario
    }

    func cluster(_ node: Node) throws(Invalid) -> Scenario.Cluster {
        let keys = try mapping(node, "cluster", allowed: ["nodes", "jwt_alg", "revocation", "access_token_ttl", "redis_timeout_ms", "revocation_max_staleness_ms", "redis_proxy", "session_cache", "runtime"])
        var cluster = Scenario.Cluster()
        if let value = keys["nodes"] { cluster.nodes = try integer(value, "cluster.nodes", in: 1...16) }
        if let value = keys["jwt_alg"] {
            cluster.jwtAlgorithm = try string(value, "cluster.jwt_alg")
            guard ["HS256", "ES256", "EdDSA"].contains(cluster.jwtAlgorithm) else { throw Invalid(line: line(value), reason: "cluster.jwt_alg must be HS256, ES256 or EdDSA") }
        }
        if let value = keys["revocation"] {
            cluster.revocation = try string(value, "cluster.revocation")
            guard ["push", "none"].contains(cluster.revocation) else { throw Invalid(line: line(value), reason: "cluster.revocation must be push or none") }
        }
        if let value = keys["access_token_ttl"] { cluster.accessTokenTTL = try integer(value, "cluster.access_token_ttl", in: 1...86_400) }
        if let value = keys["redis_timeout_ms"] { cluster.redisTimeoutMs = try integer(value, "cluster.redis_timeout_ms", in: 10...60_000) }
        if let value = keys["revocation_max_staleness_ms"] {
            cluster.revocationMaxStalenessMs = try integer(value, "cluster.revocation_max_staleness_ms", in: 100...3_600_000)
        }
        if let value = keys["redis_proxy"] {
            guard let flag = value.bool else { throw Invalid(line: line(value), reason: "cluster.redis_proxy must be true or false") }
            cluster.redisProxy = flag
        }
        if let value = keys["session_cache"] {
            cluster.sessionCache = try string(value, "cluster.session_cache")
            guard ["off", "tracking"].contains(cluster.sessionCache) else { throw Invalid(line: line(value), reason: "cluster.session_cache must be off or tracking") }
        }
        if let value = keys["runtime"] {
            cluster.runtime = try string(value, "cluster.runtime")
            guard ["processes", "containers"].contains(cluster.runtime) else { throw Invalid(line: line(value), reason: "cluster.runtime must be processes or containers") }
            guard cluster.runtime == "processes" || (cluster.nodes == 3 && !cluster.redisProxy) else {
                throw Invalid(line: line(value), reason: "cluster.runtime: containers runs the compose file's three nodes, without redis_proxy")
            }
        }
        return cluster
    }

    func load(_ node: Node, into scenario: inout Scenario) throws(Invalid) {
        let keys = try mapping(node, "load", allowed: ["mode", "connections", "users", "warmup", "phases"])
        if let value = keys["mode"] {
            switch try string(value, "load.mode") {
            case "session": scenario.modes = [.session]
            case "jwt": scenario.modes = [.jwt]
            case "both": scenario.modes = [.session, .jwt]
            default: throw Invalid(line: line(value), reason: "load.mode must be session, jwt or both")
            }
        }
        if let value = keys["connections"] { scenario.connections = try integer(value, "load.connections", in: scenario.modes.count...4096) }
        if let value = keys["users"] { scenario.users = try integer(value, "load.users", in: 1...100_000) }
        if let value = keys["warmup"] { scenario.warmup = try duration(value, "load.warmup") }
        guard let phasesNode = keys["phases"], let phases = phasesNode.sequence, !phases.isEmpty else {
            throw Invalid(line: line(node), reason: "load needs phases: a list of {duration, rate} (rate absent = closed loop)")
        }
        for phaseNode in phases {
            let phase = try mapping(phaseNode, "a phase", allowed: ["duration", "rate", "nodes"])
            guard let durationNode = phase["duration"] else { throw Invalid(line: line(phaseNode), reason: "a phase needs a duration") }
            var rate: Double?
            if let value = phase["rate"] {
                guard let number = value.float, number > 0 else { throw Invalid(line: line(value), reason: "a phase's rate must be a positive number of requests/s") }
                rate = number
            }
            let nodes = try phase["nodes"].map { value throws(Invalid) in try integer(value, "a phase's nodes", in: 1...scenario.cluster.nodes) }
            let amount = try duration(durationNode, "a phase's duration")
            guard amount > .zero else { throw Invalid(line: line(durationNode), reason: "a phase's duration must be positive") }
            scenario.phases.append(Scenario.Phase(duration: amount, rate: rate, nodes: nodes))
        }
    }

    func events(_ node: Node, _ scenario: Scenario) throws(Invalid) -> [Scenario.Event] {
        guard let list = node.sequence else { throw Invalid(line: line(node), reason: "events must be a list of {at, do}") }
        if !list.isEmpty, Set(scenario.phases.map(\.nodes)).count > 1 {
            throw Invalid(line: line(node), reason: "events need every phase on the same targets (phases with different nodes run one after the other)")
        }
        return try list.map { eventNode throws(Invalid) in
            let keys = try mapping(eventNode, "an event", allowed: ["at", "do", "node", "delay", "user", "role", "admin", "count"])
            guard let atNode = keys["at"], let doNode = keys["do"] else { throw Invalid(line: line(eventNode), reason: "an event needs at: and do:") }
            let at = try duration(atNode, "an event's at")
            guard at < scenario.totalDuration else {
                throw Invalid(line: line(atNode), reason: "the event at \(SVGChart.number(Double(at.nanoseconds) / 1e9)) s falls after the phases end")
            }
            func node(_ verb: String) throws(Invalid) -> Int {
                guard let value = keys["node"] else { throw Invalid(line: line(eventNode), reason: "\(verb) needs node: N") }
                return try integer(value, "node", in: 1...scenario.cluster.nodes)
            }
            let action: Scenario.Action
            let verb = try string(doNode, "do")
            switch verb {
            case "kill_node": action = .killNode(try node("kill_node"))
            case "start_node": action = .startNode(try node("start_node"))
            case "partition_node", "heal_node":
                guard scenario.cluster.runtime == "containers" else { throw Invalid(line: line(doNode), reason: "\(verb) needs cluster.runtime: containers") }
                action = verb == "partition_node" ? .partitionNode(try node(verb)) : .healNode(try node(verb))
            case "stop_redis": action = .stopRedis
            case "start_redis": action = .startRedis
            case "redis_latency":
                guard let value = keys["delay"] else { throw Invalid(line: line(eventNode), reason: "redis_latency needs delay: e.g. 2ms") }
                _ = try duration(value, "delay")
                guard scenario.cluster.redisProxy else { throw Invalid(line: line(doNode), reason: "redis_latency needs cluster.redis_proxy: true") }
                action = .redisLatency(value.scalar?.string ?? "")
            case "kill_feed": action = .killFeed
            case "stall_feed", "resume_feed":
                guard scenario.cluster.redisProxy else { throw Invalid(line: line(doNode), reason: "\(verb) needs cluster.redis_proxy: true") }
                action = verb == "stall_feed" ? .stallFeed : .resumeFeed
            case "revoke_user": action = .revokeUser(try keys["user"].map { value throws(Invalid) in try string(value, "user") } ?? "user\(scenario.users + 1)")
            case "change_role":
                let role = try keys["role"].map { value throws(Invalid) in try string(value, "role") } ?? "reader"
                guard ["reader", "writer", "admin"].contains(role) else { throw Invalid(line: line(eventNode), reason: "change_role: role must be reader, writer or admin") }
                action = .changeRole(
                    user: try keys["user"].map { value throws(Invalid) in try string(value, "user") } ?? "user\(scenario.users + 2)",
                    role: role, admin: try keys["admin"].map { value throws(Invalid) in try string(value, "admin") } ?? "admin1")
            case "rotate_key": action = .rotateKey
            case "delete_sessions":
                action = .deleteSessions(try keys["count"].map { value throws(Invalid) in try integer(value, "count", in: 1...1_000) } ?? 20)
            case let other:
                throw Invalid(line: line(doNode), reason: "unknown event '\(other)'; expected kill_node, start_node, partition_node, heal_node, stop_redis, start_redis, redis_latency, kill_feed, stall_feed, resume_feed, revoke_user, change_role, rotate_key or delete_sessions")
            }
            return Scenario.Event(at: at, action: action)
        }
    }

    func expectations(_ node: Node, modes: [AuthMode]) throws(Invalid) -> [Scenario.Expectation] {
        let keys = try mapping(node, "expect", allowed: ["session", "jwt"])
        var result: [Scenario.Expectation] = []
        for (modeName, claims) in keys.sorted(by: { $0.key < $1.key }) {
            let mode = AuthMode(rawValue: modeName)!
            guard modes.contains(mode) else { throw Invalid(line: line(claims), reason: "expect.\(modeName): the load does not run \(modeName)") }
            guard let list = claims.sequence else { throw Invalid(line: line(claims), reason: "expect.\(modeName) must be a list of claims like 'errors < 1%'") }
            for claim in list {
                let text = try string(claim, "a claim")
                result.append(Scenario.Expectation(mode: mode, kind: try kind(text, line: line(claim)), text: text))
            }
        }
        return result
    }

    func kind(_ text: String, line: Int?) throws(Invalid) -> Scenario.Expectation.Kind {
        let compact = text.replacingOccurrences(of: " ", with: "")
        if compact.hasPrefix("relogins<=") || compact.hasPrefix("relogins==") {
            guard let limit = Int(compact.dropFirst(10)) else { throw Invalid(line: line, reason: "'\(text)': relogins takes a whole number") }
            return .relogins(max: limit)
        }
        if compact.hasPrefix("stale_accepts<=") || compact.hasPrefix("stale_accepts==") {
            guard let limit = Int(compact.dropFirst(15)) else { throw Invalid(line: line, reason: "'\(text)': stale_accepts takes a whole number") }
            return .staleAccepts(max: limit)
        }
        for measure in Scenario.Expectation.EventMeasure.allCases where compact.hasPrefix(measure.rawValue + "<") {
            guard let limit = DurationText.parse(String(compact.dropFirst(measure.rawValue.count + 1))) else {
                throw Invalid(line: line, reason: "'\(text)': \(measure.rawValue) takes a duration like 1s")
            }
            return .caughtUp(measure, within: limit)
        }
        if compact.hasPrefix("status"), let range = compact.range(of: ">="), let code = Int(compact[compact.index(compact.startIndex, offsetBy: 6)..<range.lowerBound]),
            let count = Int(compact[range.upperBound...])
        {
            return .status(code: code, atLeast: count)
        }
        do {
            return .threshold(try Threshold(text))
        } catch {
            throw Invalid(line: line, reason: "'\(text)': expected 'errors < 1%', 'p99 < 5ms', 'rps >= 100', 'relogins == 0', 'revoked < 1s', 'demoted < 1s', 'stale_window < 10ms', 'stale_accepts == 0' or 'status503 >= 1'")
        }
    }
}
