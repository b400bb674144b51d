import Foundation
import LoadEngine

/// What each contender costs per request and per login, refresh and logout, from the resources
/// `authbench-load bench --cluster` sampled, and a linear projection of that to given rates.
public enum CostReport {
    /// One capacity step's measured phase: a single mode on the cluster, so all it spent is that mode's.
    public struct PerRequest: Sendable {
        public var name: String
        public var label: String
        public var mode: AuthMode
        public var requests: Int
        public var resources: ResourceUse
        public var requestBytes: Double
        public var responseBytes: Double

        public func cpu(_ role: String) -> Double { (resources.cpu_us[role] ?? 0) / Double(max(requests, 1)) }
        public var redisCalls: Double { Double(resources.redisCallCount) / Double(max(requests, 1)) }
        /// Node, Redis and load balancer: what serving the request took, the generator left out.
        public var clusterCPU: Double { cpu("node") + cpu("redis") + cpu("lb") }
    }

    public struct Operations: Sendable {
        public var label: String
        public var file: OperationCostFile

        func cost(_ operation: String, _ mode: AuthMode) -> OperationCost? {
            file.operations.first { $0.operation == operation && $0.mode == mode && $0.count > 0 }
        }
    }

    /// The assumptions of a projection: requests per second, and per request how many logins and
    /// refreshes come with it; credentials live `credentialLifetime` seconds on average.
    public struct Projection: Sendable {
        public var rates: [Double]
        public var loginShare: Double
        public var refreshShare: Double
        public var credentialLifetime: Double

        public static let standard = Projection(rates: [10_000, 100_000, 1_000_000], loginShare: 0.001, refreshShare: 0.001, credentialLifetime: 3600)

        public init(rates: [Double], loginShare: Double, refreshShare: Double, credentialLifetime: Double) {
            self.rates = rates
            self.loginShare = loginShare
            self.refreshShare = refreshShare
            self.credentialLifetime = credentialLifetime
        }
    }

    /// What one contender needs at one rate.
    public struct Need: Sendable, Equatable {
        public var rate: Double
        public var nodeCores: Double
        public var redisCores: Double
        public var balancerCores: Double
        public var redisMemoryBytes: Double
        public var megabitsPerSecond: Double
        /// False when no login, refresh or logout costs were measured: requests alone.
        public var includesLogins: Bool
    }

    public static func perRequest(_ steps: [BenchReport.Step]) -> [PerRequest] {
        let severalLabels = Set(steps.map(\.label)).count > 1
        return steps.filter(\.isCapacity).flatMap { step in
            step.file.runs.compactMap { run -> PerRequest? in
                guard let resources = run.resources, run.requests > 0 else { return nil }
                let mode = BenchReport.modeName(run.mode, step)
                return PerRequest(
                    name: severalLabels && run.mode != .jwt ? "\(mode) (\(step.label))" : mode, label: step.label, mode: run.mode,
                    requests: run.requests, resources: resources,
                    requestBytes: run.request_bytes.map { $0 - Double(run.mode.routingHeaderBytes) } ?? 0, responseBytes: run.response_bytes ?? 0)
            }
        }
    }

    /// Every `operations.json` in the folder's sub-folders, in the order their labels' steps ran.
    public static func operations(in directory: URL, steps: [BenchReport.Step]) -> [Operations] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        let found = names.sorted().compactMap { name -> Operations? in
            let url = directory.appendingPathComponent(name).appendingPathComponent(OperationCostFile.fileName)
            guard let data = FileManager.default.contents(atPath: url.path),
                let file = try? JSONDecoder().decode(OperationCostFile.self, from: data)
            else { return nil }
            return Operations(label: file.label ?? "", file: file)
        }
        let order = steps.map(\.label)
        return found.sorted { (order.firstIndex(of: $0.label) ?? order.count) < (order.firstIndex(of: $1.label) ?? order.count) }
    }

    /// Scaled linearly from what one contender and its cluster's operations measured.
    public static func need(_ contender: PerRequest, operations: Operations?, at rate: Double, _ projection: Projection) -> Need {
        let logins = rate * projection.loginShare
        let refreshes = contender.mode == .jwt ? rate * projection.refreshShare : 0
        // A cached session's login is a session's (its invalidations to the caching nodes aside).
        let login = operations?.cost("login", contender.mode == .cachedSession ? .session : contender.mode)
        let refresh = contender.mode == .jwt ? operations?.cost("refresh", .jwt) : nil
        func perOperation(_ cost: OperationCost?, _ role: String) -> Double {
            guard let cost else { return 0 }
            return (cost.resources?.cpu_us[role] ?? 0) / Double(cost.count)
        }
        func cores(_ role: String) -> Double {
            (rate * contender.cpu(role) + logins * perOperation(login, role) + refreshes * perOperation(refresh, role)) / 1e6
        }
        func bytes(_ cost: OperationCost?) -> Double {
            guard let cost, let bytes = cost.resources?.redis_memory_bytes else { return 0 }
            return Double(bytes) / Double(cost.count)
        }
        let memory = projection.credentialLifetime * (logins * bytes(login) + refreshes * bytes(refresh))
        return Need(
            rate: rate, nodeCores: cores("node"), redisCores: cores("redis"), balancerCores: cores("lb"),
            redisMemoryBytes: max(0, memory), megabitsPerSecond: rate * (contender.requestBytes + contender.responseBytes) * 8 / 1e6,
            includesLogins: login != nil)
    }

    /// The report's section; empty when no step sampled its resources.
    public static func markdown(_ steps: [BenchReport.Step], operations: [Operations], projection: Projection, chart: String?) -> [String] {
        let contenders = perRequest(steps)
        guard !contenders.isEmpty else { return [] }
        var lines = ["## Cost per request", ""]
        lines.append("Measured over each capacity step's measured phase only (one mode on the cluster at a time): CPU time "
            + "(user + system) of the processes the run started, from `/proc/PID/stat` (nginx with its workers), Redis's commands from its own "
            + "`INFO commandstats` (those its Lua scripts run included; `evalsha` is the script call itself), bytes as the generator wrote and read "
            + "them (HTTP only, no TCP/IP headers; a cached session's without the header that routes it to the caching nodes, which only the "
            + "benchmark sends). Per request = the phase's total / its requests.")
        lines += ["", "| contender | node CPU | Redis CPU | LB CPU | cluster CPU | generator CPU | Redis commands | request bytes | response bytes |",
            "|---|---:|---:|---:|---:|---:|---|---:|---:|"]
        for contender in contenders {
            lines.append("| \(contender.name) | \(micros(contender.cpu("node"))) | \(micros(contender.cpu("redis"))) | \(micros(contender.cpu("lb"))) | "
                + "\(micros(contender.clusterCPU)) | \(micros(contender.cpu("load"))) | \(commands(contender.resources.redis_calls, per: contender.requests)) | "
                + "\(Int(contender.requestBytes.rounded())) | \(Int(contender.responseBytes.rounded())) |")
        }
        if let chart { lines += ["", "![\(chart)](\(chart))"] }
        if !operations.isEmpty {
            let costs = Set(operations.compactMap(\.file.bcrypt_cost)).sorted().map(String.init).joined(separator: " and ")
            lines += ["", "### Per login, refresh and logout", "",
                "Each kind measured on its own after the load steps, through the load balancer, "
                + (costs.isEmpty ? "at the nodes' bcrypt cost" : "at bcrypt cost \(costs) (each step of it doubles the hash's share of a login)")
                + ". Redis memory is the change of its `used_memory` per operation: a login's is what a live session or refresh family holds, "
                + "a refresh's the spent token kept until it expires (reuse detection needs it).", "",
                "| cluster | operation | count | node CPU | Redis CPU | LB CPU | Redis commands | Redis memory |", "|---|---|---:|---:|---:|---:|---|---:|"]
            var revocations: [String] = []
            for group in operations {
                for cost in group.file.operations where cost.count > 0 {
                    let use = cost.resources
                    let memory = use?.redis_memory_bytes.map { "\(signed(Double($0) / Double(cost.count))) B" } ?? "-"
                    lines.append("| \(group.label.isEmpty ? "-" : group.label) | \(cost.mode.rawValue) \(cost.operation) | \(cost.count)"
                        + (cost.failures > 0 ? " (\(cost.failures) failed)" : "") + " | "
                        + ["node", "redis", "lb"].map { micros((use?.cpu_us[$0] ?? 0) / Double(cost.count)) }.joined(separator: " | ")
                        + " | \(commands(use?.redis_calls ?? [:], per: cost.count)) | \(memory) |")
                }
                if let jwtLogout = group.cost("logout", .jwt), let list = jwtLogout.revocation_list_bytes {
                    revocations.append("\(signed(Double(list) / Double(jwtLogout.count))) B\(group.label.isEmpty ? "" : " (\(group.label))")")
                }
            }
            if !revocations.isEmpty {
                lines += ["", "Revocation list: \(revocations.joined(separator: ", ")) per JWT logout (`MEMORY USAGE` of the sorted set), "
                    + "kept until the tokens it names have expired."]
            }
        }
        lines += [""] + projectionMarkdown(contenders, operations: operations, projection)
        lines += ["", "### Reading", ""] + reading(contenders, operations: operations, projection).map { "- \($0)" }
        return lines
    }

    public static func projectionMarkdown(_ contenders: [PerRequest], operations: [Operations], _ projection: Projection) -> [String] {
        let rows = contenders.filter { $0.mode != .none }
        guard !rows.isEmpty else { return [] }
        var lines = ["### Projection", "",
            "A linear projection from one machine, not a capacity plan: the costs above multiplied by the rate, with "
            + "\(per(projection.loginShare, "login")) and (JWT) \(per(projection.refreshShare, "refresh")), each credential "
            + "living \(SVGChart.number(projection.credentialLifetime)) s (live credentials = login rate × lifetime; spent refresh tokens are counted "
            + "for that long too, though they are kept until their own expiry). Bandwidth counts the requests only. It assumes the costs stay "
            + "what they were at this machine's capacity: no batching gains, no contention, no network hop to Redis or between nodes.", "",
            "| contender | requests/s | node cores | Redis cores | LB cores | Redis memory | bandwidth (client ↔ LB) |", "|---|---:|---:|---:|---:|---:|---:|"]
        for contender in rows {
            let group = operations.first { $0.label == contender.label }
            for rate in projection.rates {
                let need = need(contender, operations: group, at: rate, projection)
                lines.append("| \(contender.name) | \(BenchReport.grouped(rate)) | \(cores(need.nodeCores)) | \(cores(need.redisCores)) | "
                    + "\(cores(need.balancerCores)) | \(need.includesLogins ? memory(need.redisMemoryBytes) : "not measured") | \(bandwidth(need.megabitsPerSecond)) |")
            }
        }
        if rows.contains(where: { contender in !operations.contains { $0.label == contender.label } }) {
            lines += ["", "Rows without measured logins count requests only (run `authbench-load bench` with `--cluster` and `--operations`)."]
        }
        return lines
    }

    static func reading(_ contenders: [PerRequest], operations: [Operations], _ projection: Projection) -> [String] {
        var sentences: [String] = []
        for session in contenders where session.mode == .session {
            let group = operations.first { $0.label == session.label }
            if let baseline = contenders.first(where: { $0.label == session.label && $0.mode == .none }) {
                let added = contenders.filter { $0.label == session.label && $0.mode != .none }
                    .map { "\($0.name) \(signed($0.clusterCPU - baseline.clusterCPU)) µs" }
                sentences.append("**What authentication adds\(session.label.isEmpty ? "" : " (\(session.label))").** Against the same cluster's unauthenticated request "
                    + "(\(micros(baseline.clusterCPU)) of cluster CPU): " + added.joined(separator: ", ") + " per request.")
            }
            for jwt in contenders where jwt.label == session.label && jwt.mode == .jwt {
                sentences.append("**\(session.name) vs \(jwt.name).** A session request cost the cluster \(micros(session.clusterCPU)) of CPU "
                    + "(\(micros(session.cpu("redis"))) of it in Redis, \(number(session.redisCalls)) commands), a JWT request \(micros(jwt.clusterCPU)) "
                    + "(\(micros(jwt.cpu("redis"))) in Redis, \(number(jwt.redisCalls)) commands). The JWT request is "
                    + "\(Int((jwt.requestBytes - session.requestBytes).rounded())) bytes larger on the wire (\(Int(jwt.requestBytes.rounded())) against \(Int(session.requestBytes.rounded())) with the cookie).")
            }
            for cached in contenders where cached.label == session.label && cached.mode == .cachedSession {
                var text = "**What the session cache buys\(session.label.isEmpty ? "" : " (\(session.label))").** A session answered from the nodes' memory cost the cluster "
                    + "\(micros(cached.clusterCPU)) of CPU against \(micros(session.clusterCPU)) read from Redis, with \(number(cached.redisCalls)) Redis commands per request "
                    + "(\(micros(cached.cpu("redis"))) of Redis CPU) against \(number(session.redisCalls))"
                if let jwt = contenders.first(where: { $0.label == session.label && $0.mode == .jwt }) {
                    text += "; a JWT request cost \(micros(jwt.clusterCPU)) and is \(Int((jwt.requestBytes - cached.requestBytes).rounded())) bytes larger"
                }
                sentences.append(text + ". What it costs: memory on every node for the sessions it holds, and every change to a session key "
                    + "(login, logout, sliding-expiry renewal) sent by Redis to every caching node; ended sessions still end at once.")
            }
            if session.cpu("redis") > 0 {
                var text = "**Where one Redis core is the limit (\(session.name)).** At \(micros(session.cpu("redis"))) of Redis CPU per session request, "
                    + "about \(rounded(1e6 / session.cpu("redis"))) session requests/s"
                if let login = group?.cost("login", .session), let redis = login.resources?.cpu_us["redis"] {
                    let mixed = session.cpu("redis") + projection.loginShare * redis / Double(login.count)
                    text += ", or \(rounded(1e6 / mixed)) with \(per(projection.loginShare, "login"))"
                }
                sentences.append(text + ". The nodes scale out; that core does not without sharding.")
            }
        }
        for group in operations {
            let title = group.label.isEmpty ? "" : " (\(group.label))"
            if let login = group.cost("login", .session), let jwtLogin = group.cost("login", .jwt) {
                let node = (login.resources?.cpu_us["node"] ?? 0) / Double(login.count)
                let jwtNode = (jwtLogin.resources?.cpu_us["node"] ?? 0) / Double(jwtLogin.count)
                var text = "**Logins\(title).** A session login cost the nodes \(micros(node)), a JWT login \(micros(jwtNode))"
                if let request = contenders.first(where: { $0.label == group.label && $0.mode == .session }), request.cpu("node") > 0 {
                    text += ": \(number(node / request.cpu("node"))) session requests' worth"
                }
                if let cost = group.file.bcrypt_cost { text += ", at bcrypt cost \(cost)" }
                sentences.append(text + ".")
            }
            if let session = group.cost("login", .session)?.resources?.redis_memory_bytes, let sessions = group.cost("login", .session)?.count,
                let family = group.cost("login", .jwt)?.resources?.redis_memory_bytes, let families = group.cost("login", .jwt)?.count {
                var text = "**Redis memory\(title).** A live session holds \(Int((Double(session) / Double(sessions)).rounded())) bytes, a refresh family "
                    + "\(Int((Double(family) / Double(families)).rounded()))"
                if let refresh = group.cost("refresh", .jwt), let bytes = refresh.resources?.redis_memory_bytes {
                    text += ", and each refresh adds \(Int((Double(bytes) / Double(refresh.count)).rounded())) until its spent token expires"
                }
                sentences.append(text + ".")
            }
        }
        return sentences
    }

    /// Two significant digits: a projection is no more precise than that.
    static func rounded(_ value: Double) -> String {
        guard value >= 100 else { return BenchReport.grouped(value) }
        let magnitude = pow(10, floor(log10(value)) - 1)
        return BenchReport.grouped((value / magnitude).rounded() * magnitude)
    }

    static func commands(_ calls: [String: Int], per count: Int) -> String {
        let total = Double(calls.values.reduce(0, +)) / Double(max(count, 1))
        guard total > 0 else { return "0" }
        let parts = calls.sorted { $0.value > $1.value }.filter { Double($0.value) / Double(max(count, 1)) >= 0.01 }
            .map { "\($0.key) \(number(Double($0.value) / Double(max(count, 1))))" }
        return number(total) + (parts.isEmpty ? "" : " (" + parts.joined(separator: ", ") + ")")
    }

    static func micros(_ value: Double) -> String { value >= 100 ? "\(Int(value.rounded())) µs" : String(format: "%.1f µs", value) }
    static func number(_ value: Double) -> String { value >= 10 ? String(Int(value.rounded())) : String(format: "%.2f", value) }
    static func signed(_ value: Double) -> String { (value > 0 ? "+" : "") + String(Int(value.rounded())) }
    /// "one login per 1,000 requests"
    static func per(_ share: Double, _ operation: String) -> String {
        share > 0 ? "one \(operation) per \(BenchReport.grouped(1 / share)) requests" : "no \(operation)s"
    }
    static func cores(_ value: Double) -> String { String(format: value >= 10 ? "%.0f" : "%.2f", value) }
    static func bandwidth(_ megabits: Double) -> String { megabits >= 1000 ? String(format: "%.1f Gbit/s", megabits / 1000) : String(format: "%.1f Mbit/s", megabits) }
    static func memory(_ bytes: Double) -> String {
        bytes >= 1e9 ? String(format: "%.1f GB", bytes / 1e9) : bytes >= 1e6 ? String(format: "%.1f MB", bytes / 1e6) : String(format: "%.0f kB", bytes / 1e3)
    }
}
