import Logging
import NIOCore
import Synchronization

/// A fixed set of connection slots, one per event loop by default. A call picks a slot
/// round-robin, preferring one whose connection is up.
final class RedisConnectionPool: Sendable {
    private let slots: [RedisConnectionSlot]
    private let nextSlot = Atomic<Int>(0)
    private let metrics: RedisCommandMetrics

    init(configuration: RedisConfiguration, eventLoopGroup: any EventLoopGroup, metrics: RedisCommandMetrics, logger: Logger) {
        self.metrics = metrics
        let loops = Array(eventLoopGroup.makeIterator())
        let size = max(1, configuration.poolSize ?? loops.count)
        slots = (0..<size).map { index in
            RedisConnectionSlot(
                configuration: configuration,
                eventLoop: loops[index % loops.count],
                logger: logger
            )
        }
    }

    /// Throws only `RedisError`.
    func send(_ command: RedisCommand) async throws -> RESPValue {
        let start = NIODeadline.now()
        do {
            let reply = try await sendUnmeasured(command)
            metrics.recordSuccess(command.name, nanoseconds: (NIODeadline.now() - start).nanoseconds)
            return reply
        } catch {
            let redisError = error as? RedisError ?? .connectionFailed("\(error)")
            metrics.recordFailure(command.name, nanoseconds: (NIODeadline.now() - start).nanoseconds, redisError)
            throw redisError
        }
    }

    /// One hop onto the slot's event loop does both the write and the registration of the
    /// continuation (`EventLoopFuture.get()` off the loop would hop a second time to register).
    private func sendUnmeasured(_ command: RedisCommand) async throws -> RESPValue {
        let slot = pickSlot()
        let bytes = command.encoded()
        let reply = try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<RESPValue, any Error>) in
            if slot.eventLoop.inEventLoop {
                slot.submit(bytes, continuation: continuation)
            } else {
                slot.eventLoop.execute { slot.submit(bytes, continuation: continuation) }
            }
        }
        if case .error(let message) = reply { throw RedisError.server(message) }
        return reply
    }

    /// Connects every slot that is not connected; fails with the first slot's error.
    func connectAll() async throws {
        for slot in slots {
            try await slot.eventLoop.flatSubmit { slot.connection() }.map { _ in }.get()
        }
    }

    func shutdown() async {
        for slot in slots {
            try? await slot.eventLoop.flatSubmit { slot.shutdown() }.get()
        }
    }

    /// The slot of the caller's own event loop when it runs on one (no thread hop), else
    /// round-robin over the connected slots.
    private func pickSlot() -> RedisConnectionSlot {
        for slot in slots where slot.eventLoop.inEventLoop && slot.isConnected.load(ordering: .relaxed) {
            return slot
        }
        let start = nextSlot.wrappingAdd(1, ordering: .relaxed).oldValue
        for offset in 0..<slots.count {
            let slot = slots[(start &+ offset) % slots.count]
            if slot.isConnected.load(ordering: .relaxed) { return slot }
        }
        return slots[start % slots.count]
    }
}

/// One pooled connection and its life: connect on first use, reconnect at once when it
/// drops, then with capped exponential backoff while connects fail. During a backoff
/// calls fail at once with the last connect error instead of queueing.
///
/// `state` and `failedConnects` are only touched on `eventLoop`.
final class RedisConnectionSlot: @unchecked Sendable {
    private enum State {
        case idle
        case connecting(EventLoopFuture<RedisConnection>)
        case connected(RedisConnection)
        case backingOff(RedisError, Scheduled<Void>)
        case shutDown
    }

    let eventLoop: EventLoop
    let isConnected = Atomic<Bool>(false)
    private let configuration: RedisConfiguration
    private let logger: Logger
    private var state = State.idle
    private var failedConnects = 0

    init(configuration: RedisConfiguration, eventLoop: EventLoop, logger: Logger) {
        self.configuration = configuration
        self.eventLoop = eventLoop
        self.logger = logger
    }

    func submit(_ bytes: ByteBuffer, continuation: UnsafeContinuation<RESPValue, any Error>) {
        let promise = eventLoop.makePromise(of: RESPValue.self)
        promise.futureResult.whenComplete { continuation.resume(with: $0) }
        submit(bytes, promise: promise)
    }

    func submit(_ bytes: ByteBuffer, promise: EventLoopPromise<RESPValue>) {
        eventLoop.assertInEventLoop()
        if case .connected(let connection) = state {
            connection.send(bytes, promise: promise)
            return
        }
        connection().whenComplete { result in
            switch result {
            case .success(let connection): connection.send(bytes, promise: promise)
            case .failure(let error): promise.fail(error)
            }
        }
    }

    /// The connection, or the attempt under way, or the reason there is none right now.
    func connection() -> EventLoopFuture<RedisConnection> {
        eventLoop.assertInEventLoop()
        switch state {
        case .connected(let connection):
            return eventLoop.makeSucceededFuture(connection)
        case .connecting(let attempt):
            return attempt
        case .backingOff(let error, _):
            return eventLoop.makeFailedFuture(error)
        case .shutDown:
            return eventLoop.makeFailedFuture(RedisError.shutdown)
        case .idle:
            return startConnecting()
        }
    }

    func shutdown() -> EventLoopFuture<Void> {
        eventLoop.assertInEventLoop()
        let previous = state
        state = .shutDown
        isConnected.store(false, ordering: .relaxed)
        switch previous {
        case .connected(let connection):
            return connection.channel.close().recover { _ in }
        case .connecting(let attempt):
            return attempt.flatMap { $0.channel.close() }.recover { _ in }
        case .backingOff(_, let retry):
            retry.cancel()
            return eventLoop.makeSucceededVoidFuture()
        case .idle, .shutDown:
            return eventLoop.makeSucceededVoidFuture()
        }
    }

    private func startConnecting() -> EventLoopFuture<RedisConnection> {
        let attempt = RedisConnection.connect(to: configuration, on: eventLoop, logger: logger)
        state = .connecting(attempt)
        attempt.whenComplete { result in
            guard case .connecting = self.state else {
                // Shut down while connecting: `shutdown()` closes the channel.
                return
            }
            switch result {
            case .success(let connection):
                self.failedConnects = 0
                self.state = .connected(connection)
                self.isConnected.store(true, ordering: .relaxed)
                connection.channel.closeFuture.whenComplete { _ in self.connectionClosed(connection) }
            case .failure(let error):
                self.failedConnects += 1
                let delay = self.backoff(afterFailures: self.failedConnects)
                let retry = self.eventLoop.scheduleTask(in: delay) { self.retryAfterBackoff() }
                self.state = .backingOff(error as? RedisError ?? .connectionFailed("\(error)"), retry)
                self.logger.debug("redis connect failed, retrying", metadata: [
                    "error": "\(error)", "retry_in_ms": "\(delay.nanoseconds / 1_000_000)",
                ])
            }
        }
        return attempt
    }

    private func connectionClosed(_ connection: RedisConnection) {
        guard case .connected(let current) = state, current === connection else { return }
        isConnected.store(false, ordering: .relaxed)
        logger.debug("redis connection lost, reconnecting", metadata: ["redis": "\(configuration)"])
        state = .idle
        _ = startConnecting()
    }

    private func retryAfterBackoff() {
        guard case .backingOff = state else { return }
        state = .idle
        _ = startConnecting()
    }

    private func backoff(afterFailures failures: Int) -> TimeAmount {
        let exponent = min(failures - 1, 20)
        let base = min(configuration.initialBackoff.nanoseconds << exponent, configuration.maximumBackoff.nanoseconds)
        let jitter = Int64.random(in: 0...(base / 5))
        return .nanoseconds(base - jitter)
    }
}
