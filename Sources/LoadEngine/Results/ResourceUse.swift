/// What the processes of a run and their Redis had spent up to one moment: CPU time by role
/// (`node`, `redis`, `lb`, `load`), Redis's own command counts and memory.
public struct ResourceSample: Sendable {
    public var cpuMicros: [String: Double]
    /// `INFO commandstats` calls by command, lower case.
    public var redisCalls: [String: Int]
    /// `INFO memory` `used_memory`.
    public var redisUsedMemory: Int?

    public init(cpuMicros: [String: Double], redisCalls: [String: Int] = [:], redisUsedMemory: Int? = nil) {
        self.cpuMicros = cpuMicros
        self.redisCalls = redisCalls
        self.redisUsedMemory = redisUsedMemory
    }
}

/// Takes resource samples; `LoadRunner` takes one as each stage's measured phase starts and one as it stops.
public protocol ResourceMeter: Sendable {
    func sample() async throws -> ResourceSample
}

/// What was spent between two samples. Commands the meter sends itself (`info`) are left out.
public struct ResourceUse: Codable, Sendable, Equatable {
    public var seconds: Double
    /// CPU time (user + system) by role, in microseconds.
    public var cpu_us: [String: Double]
    /// Redis commands by name.
    public var redis_calls: [String: Int]
    /// Change of Redis's `used_memory`, in bytes.
    public var redis_memory_bytes: Int?

    public init(seconds: Double, cpu_us: [String: Double], redis_calls: [String: Int], redis_memory_bytes: Int?) {
        self.seconds = seconds
        self.cpu_us = cpu_us
        self.redis_calls = redis_calls
        self.redis_memory_bytes = redis_memory_bytes
    }

    /// A role missing from either sample (a process that died) is left out.
    public init(from start: ResourceSample, to end: ResourceSample, seconds: Double) {
        self.seconds = seconds
        cpu_us = end.cpuMicros.reduce(into: [:]) { spent, entry in
            if let before = start.cpuMicros[entry.key] { spent[entry.key] = max(0, entry.value - before) }
        }
        redis_calls = end.redisCalls.reduce(into: [:]) { calls, entry in
            let delta = entry.value - (start.redisCalls[entry.key] ?? 0)
            if delta > 0, entry.key != "info" { calls[entry.key] = delta }
        }
        redis_memory_bytes = end.redisUsedMemory.flatMap { end in start.redisUsedMemory.map { end - $0 } }
    }

    public var redisCallCount: Int { redis_calls.values.reduce(0, +) }
}
