import NIOCore

/// The standard comparison of `authbench-load bench` and `scripts/bench`: the capacity of `none`
/// and of each contender (`session` and `jwt`, and `session-cached` when the cluster has caching
/// nodes) one after the other (closed loop, all connections on one mode), then the contenders
/// side by side in open loop at shares of the lowest capacity.
public struct StandardComparison: Sendable {
    /// The shared settings; its modes, rate and stages are what this type sets per step.
    public var base: LoadPlan
    /// The modes compared, in the order they run.
    public var contenders: [AuthMode]
    /// Total open-loop rates as fractions of the lower capacity.
    public var loadLevels: [Double]
    /// What `none` requests: a route without authentication, since the measured path would answer 401.
    public var baselinePath: String

    public init(
        base: LoadPlan, contenders: [AuthMode] = [.session, .jwt], loadLevels: [Double] = [0.5, 0.8], baselinePath: String = "/healthz"
    ) {
        self.base = base
        self.contenders = contenders
        self.loadLevels = loadLevels
        self.baselinePath = baselinePath
    }

    public struct Step: Sendable {
        /// The sub-folder its results go to.
        public var folder: String
        public var plan: LoadPlan
    }

    public var capacitySteps: [Step] {
        ([AuthMode.none] + contenders).map { mode in
            var plan = base
            plan.modes = [mode]
            if mode == .none { plan.path = baselinePath }
            plan.rate = nil
            plan.stages = nil
            return Step(folder: folder("capacity-\(mode.rawValue)"), plan: plan)
        }
    }

    /// Every contender at each load level, one stage per level, on the same logged-in users.
    public func openLoopStep(capacities: [AuthMode: Double]) throws(LoadPlan.Invalid) -> Step {
        let lower = contenders.map { capacities[$0] ?? 0 }.min() ?? 0
        guard lower >= 1 else {
            let measured = contenders.map { "\($0.rawValue) \(Int(capacities[$0] ?? 0))/s" }.joined(separator: ", ")
            throw LoadPlan.Invalid(description: "a capacity run served no requests (\(measured)); see the nodes' logs")
        }
        var plan = base
        plan.modes = contenders
        plan.rate = nil
        plan.stages = loadLevels.map { LoadPlan.Stage(rate: ($0 * lower).rounded(), duration: base.duration) }
        return Step(folder: folder("open-loop"), plan: plan)
    }

    /// Where the logins, refreshes and logouts measured after the load steps go.
    public var operationsFolder: String { folder("operations") }

    private func folder(_ name: String) -> String {
        guard let label = base.label, !label.isEmpty else { return name }
        let slug = label.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "-" }
        return String(slug) + "-" + name
    }
}
