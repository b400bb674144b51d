import Logging
import RedisClient
import ServiceLifecycle
import Synchronization

/// Keeps this node's `RevocationList` in step with every other node's: listens on the
/// revocation channel and, after every (re)subscribe, reloads the whole list, since
/// anything published while it was away was missed. Not ready until that reload is done.
public final class RevocationSync: Service {
    private let subscriber: RedisSubscriber
    private let store: any RevocationStore
    private let list: RevocationList
    private let clock: any AuthClock
    private let logger: Logger
    private let ready = Atomic<Bool>(false)

    public init(
        configuration: RedisConfiguration,
        keys: RedisKeys,
        store: any RevocationStore,
        list: RevocationList,
        clock: any AuthClock,
        logger: Logger
    ) {
        self.subscriber = RedisSubscriber(configuration: configuration, channels: [keys.revocationChannel], logger: logger)
        self.store = store
        self.list = list
        self.clock = clock
        self.logger = logger
    }

    public var isReady: Bool { ready.load(ordering: .relaxed) }

    public func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.subscriber.run() }
            for await event in subscriber.events {
                switch event {
                case .subscribed:
                    await reload()
                case .message(_, let payload):
                    if let revocation = Revocation(message: String(decoding: payload, as: UTF8.self)) {
                        list.apply(revocation)
                    }
                case .disconnected(let error):
                    ready.store(false, ordering: .relaxed)
                    logger.debug("revocation channel lost", metadata: ["error": "\(error)"])
                }
            }
            try await group.waitForAll()
        }
    }

    private func reload() async {
        // Retries until it works: a node that cannot load the list must not report ready.
        while !Task.isCancelled {
            do {
                list.replaceAll(with: try await store.loadAll(now: Int64(clock.now())))
                ready.store(true, ordering: .relaxed)
                logger.debug("revocation list reloaded", metadata: ["entries": "\(list.count)"])
                return
            } catch {
                logger.debug("revocation list reload failed", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
    }
}
