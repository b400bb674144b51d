import Logging
import NIOCore
import RedisClient
import ServiceLifecycle
import Synchronization

/// Keeps this node's `RevocationList` in step with every other node's: listens on the
/// revocation channel and, after every (re)subscribe, reloads the whole list, since
/// anything published while it was away was missed. The list is current once loaded and
/// while the channel was last confirmed complete (a PING answered on it) within
/// `maxStaleness`, also across a reconnect: a node whose list is not current must not accept
/// access tokens. So a Redis outage shorter than the bound leaves access tokens served; past
/// it, they get 503 like sessions. Ready is stricter: current, and reloaded since the last
/// (re)subscribe, so a load balancer sends a node traffic only once it has caught up.
public final class RevocationSync: Service {
    private let subscriber: RedisSubscriber
    private let store: any RevocationStore
    private let list: RevocationList
    private let clock: any AuthClock
    private let logger: Logger
    public let maxStaleness: TimeAmount
    /// Every revocation published before this instant (uptime nanoseconds) is in the list;
    /// 0 until it is first loaded.
    private let currentUpTo = Atomic<UInt64>(0)
    /// The list was reloaded since the channel last (re)subscribed.
    private let reloadedSinceSubscribe = Atomic<Bool>(false)

    public init(
        configuration: RedisConfiguration,
        keys: RedisKeys,
        store: any RevocationStore,
        list: RevocationList,
        clock: any AuthClock,
        maxStaleness: TimeAmount,
        logger: Logger
    ) {
        self.maxStaleness = maxStaleness
        // A silent channel makes the list stale at the bound and is replaced a few PINGs later.
        self.subscriber = RedisSubscriber(
            configuration: configuration, channels: [keys.revocationChannel],
            pingInterval: RedisSubscriber.pingInterval(forStaleness: maxStaleness), logger: logger)
        self.store = store
        self.list = list
        self.clock = clock
        self.logger = logger
    }

    /// Ready for traffic: reloaded since the last (re)subscribe, and current.
    public var isReady: Bool { reloadedSinceSubscribe.load(ordering: .relaxed) && isCurrent }

    /// Loaded, and complete as of at most `maxStaleness` ago.
    public var isCurrent: Bool {
        let upTo = currentUpTo.load(ordering: .relaxed)
        let now = NIODeadline.now().uptimeNanoseconds
        return upTo != 0 && (now < upTo || now - upTo <= UInt64(maxStaleness.nanoseconds))
    }

    public func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.subscriber.run() }
            var channelDown = false
            for await event in subscriber.events {
                switch event {
                case .subscribed:
                    channelDown = false
                    await reload()
                case .message(_, let payload):
                    if let revocation = Revocation(message: String(decoding: payload, as: UTF8.self)) {
                        list.apply(revocation)
                    }
                case .invalidated:
                    break
                case .confirmed(let upTo):
                    let loaded = currentUpTo.load(ordering: .relaxed)
                    if loaded != 0, upTo.uptimeNanoseconds > loaded {
                        currentUpTo.store(upTo.uptimeNanoseconds, ordering: .relaxed)
                    }
                case .disconnected(let error):
                    reloadedSinceSubscribe.store(false, ordering: .relaxed)
                    // The list stays as current as its last confirmation: once per outage, say
                    // when access tokens will be refused.
                    if !channelDown {
                        channelDown = true
                        logger.warning(
                            "revocation channel lost: access tokens get 503 once the list is older than the staleness bound, until it is back",
                            metadata: ["error": "\(error)", "max_staleness_ms": "\(maxStaleness.nanoseconds / 1_000_000)"])
                    } else {
                        logger.debug("revocation channel still down", metadata: ["error": "\(error)"])
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    private func reload() async {
        // Retries until it works: a node that cannot load the list must not report ready.
        while !Task.isCancelled {
            do {
                let startedAt = NIODeadline.now()
                list.replaceAll(with: try await store.loadAll(now: Int64(clock.now())))
                currentUpTo.store(startedAt.uptimeNanoseconds, ordering: .relaxed)
                reloadedSinceSubscribe.store(true, ordering: .relaxed)
                logger.debug("revocation list reloaded", metadata: ["entries": "\(list.count)"])
                return
            } catch {
                logger.debug("revocation list reload failed", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
    }
}
