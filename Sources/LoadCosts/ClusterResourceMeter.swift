import Foundation
import LoadEngine
import NIOCore
import RedisClient

/// Samples the CPU time of a cluster's processes by role and its Redis's own counts.
public struct ClusterResourceMeter: ResourceMeter {
    /// The process ids of each role, read again at every sample (a restarted node has a new one).
    public var processes: @Sendable () -> [String: [Int32]]
    public var redis: RedisClient?

    public init(processes: @escaping @Sendable () -> [String: [Int32]], redis: RedisClient?) {
        self.processes = processes
        self.redis = redis
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Redis first, then `/proc`, the same way at both ends of a window: the command counts are
    /// what must line up with the generator's request counts.
    public func sample() async throws -> ResourceSample {
        var sample = ResourceSample(cpuMicros: [:])
        if let redis {
            let commands = try await redis.send(RedisCommand("INFO", "commandstats")).string ?? ""
            let memory = try await redis.send(RedisCommand("INFO", "memory")).string ?? ""
            sample.redisCalls = RedisStats.commandCalls(inInfo: commands)
            sample.redisUsedMemory = RedisStats.usedMemory(inInfo: memory)
        }
        let roles = processes()
        let trees = ProcessCPU.micros(ofTrees: roles.values.flatMap { $0 })
        for (role, pids) in roles {
            let spent = pids.compactMap { trees[$0] }
            if !spent.isEmpty { sample.cpuMicros[role] = spent.reduce(0, +) }
        }
        return sample
    }

    /// `cluster.env`'s `BCRYPT_COST`, the nodes' bcrypt cost.
    public static func bcryptCost(inRunDirectory directory: String) -> Int? {
        ClusterRunDirectory.settings(directory)?["BCRYPT_COST"].flatMap { Int($0) }
    }

    /// The cluster `scripts/cluster up` started in `directory`: `node-N.pid` (role `node`),
    /// `redis.pid` (`redis`), `lb.pid` (`lb`, nginx and its workers), this process as `load`,
    /// and Redis at `cluster.env`'s `REDIS_URL`. The caller shuts the returned client down.
    public static func runDirectory(_ directory: String, eventLoopGroup: any EventLoopGroup) throws -> (ClusterResourceMeter, RedisClient) {
        guard let settings = ClusterRunDirectory.settings(directory) else {
            throw Failure(description: "no cluster in \(directory): no cluster.env (scripts/cluster up writes it)")
        }
        guard let url = settings["REDIS_URL"] else {
            throw Failure(description: "\(directory)/cluster.env names no REDIS_URL")
        }
        let configuration: RedisConfiguration
        do {
            configuration = try RedisConfiguration(url: url)
        } catch {
            throw Failure(description: "\(directory)/cluster.env: REDIS_URL: \(error)")
        }
        let client = RedisClient(configuration: configuration, eventLoopGroup: eventLoopGroup)
        let ownPid = getpid()
        let meter = ClusterResourceMeter(processes: { pids(in: directory).merging(["load": [ownPid]]) { $1 } }, redis: client)
        return (meter, client)
    }

    static func pids(in directory: String) -> [String: [Int32]] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        var roles: [String: [Int32]] = [:]
        for name in names.sorted() where name.hasSuffix(".pid") {
            let role: String
            switch name {
            case "redis.pid": role = "redis"
            case "lb.pid": role = "lb"
            case _ where name.hasPrefix("node-"): role = "node"
            default: continue
            }
            let text = (try? String(contentsOfFile: directory + "/" + name, encoding: .utf8)) ?? ""
            if let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) { roles[role, default: []].append(pid) }
        }
        return roles
    }
}
