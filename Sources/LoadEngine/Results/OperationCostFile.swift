/// What one kind of operation cost, measured over `count` of them.
public struct OperationCost: Codable, Sendable, Equatable {
    /// `login`, `refresh` or `logout`.
    public var operation: String
    public var mode: AuthMode
    /// Operations that succeeded; the resources are divided by this.
    public var count: Int
    public var failures: Int
    public var resources: ResourceUse?
    /// Change of the revocation list's own size (`MEMORY USAGE`), in bytes: what the revocations
    /// a JWT logout publishes keep in Redis until the tokens they name expire.
    public var revocation_list_bytes: Int?

    public init(operation: String, mode: AuthMode, count: Int, failures: Int, resources: ResourceUse?, revocation_list_bytes: Int? = nil) {
        self.operation = operation
        self.mode = mode
        self.count = count
        self.failures = failures
        self.resources = resources
        self.revocation_list_bytes = revocation_list_bytes
    }
}

/// `operations.json`: the per-operation costs of one cluster.
public struct OperationCostFile: Codable, Sendable {
    public static let fileName = "operations.json"
    public var label: String?
    public var target: String
    /// The nodes' bcrypt cost, when known: a login's CPU grows twofold with each step of it.
    public var bcrypt_cost: Int?
    public var operations: [OperationCost]

    public init(label: String?, target: String, bcrypt_cost: Int? = nil, operations: [OperationCost]) {
        self.label = label
        self.target = target
        self.bcrypt_cost = bcrypt_cost
        self.operations = operations
    }
}
