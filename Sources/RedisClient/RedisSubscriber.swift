import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// What a subscriber sees.
public enum RedisSubscriberEvent: Sendable, Hashable {
    /// Subscribed to every channel, first or again after a reconnect. Anything published
    /// while no connection was up is lost, so this is the moment to reload state.
    case subscribed
    case message(channel: String, payload: [UInt8])
    /// The connection could not be made or was lost; the subscriber retries with backoff.
    case disconnected(RedisError)
}

/// SUBSCRIBE on a connection of its own, with its events as an `AsyncSequence`. It
/// reconnects and resubscribes by itself until the service ends (graceful shutdown or
/// cancellation), which finishes `events`. `events` has one consumer.
public final class RedisSubscriber: Service, Sendable {
    public let channels: [String]
    public let events: AsyncStream<RedisSubscriberEvent>
    private let continuation: AsyncStream<RedisSubscriberEvent>.Continuation
    private let configuration: RedisConfiguration
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger

    public init(
        configuration: RedisConfiguration,
        channels: [String],
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "RedisSubscriber")
    ) {
        precondition(!channels.isEmpty, "a subscriber needs at least one channel")
        self.configuration = configuration
        self.channels = channels
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        (events, continuation) = AsyncStream.makeStream(of: RedisSubscriberEvent.self)
    }

    public func run() async throws {
        defer { continuation.finish() }
        try? await cancelWhenGracefulShutdown {
            try await self.subscribeUntilCancelled()
        }
    }

    private func subscribeUntilCancelled() async throws {
        var failures = 0
        while !Task.isCancelled {
            do {
                try await subscribeOnce { failures = 0 }
                if Task.isCancelled { return }
                continuation.yield(.disconnected(.connectionClosed))
            } catch {
                if Task.isCancelled { return }
                continuation.yield(.disconnected(error as? RedisError ?? .connectionFailed("\(error)")))
            }
            failures += 1
            let exponent = min(failures - 1, 20)
            let delay = min(configuration.initialBackoff.nanoseconds << exponent, configuration.maximumBackoff.nanoseconds)
            logger.debug("redis subscriber disconnected, retrying", metadata: ["retry_in_ms": "\(delay / 1_000_000)"])
            try await Task.sleep(for: .nanoseconds(delay))
        }
    }

    /// Connects, subscribes, and forwards messages until the connection ends.
    private func subscribeOnce(onSubscribed: () -> Void) async throws {
        let configuration = self.configuration
        let channel: NIOAsyncChannel<RESPValue, ByteBuffer>
        do {
            channel = try await ClientBootstrap(group: eventLoopGroup)
                .connectTimeout(configuration.connectTimeout)
                .connect(host: configuration.host, port: configuration.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(RESPReplyDecoder())
                        return try NIOAsyncChannel<RESPValue, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw RedisError.connectionFailed(RedisConnection.describe(connectError: error, configuration))
        }
        let handshakeDeadline = channel.channel.eventLoop.scheduleTask(in: configuration.connectTimeout) {
            channel.channel.close(promise: nil)
        }
        defer { handshakeDeadline.cancel() }

        try await channel.executeThenClose { inbound, outbound in
            var replies = inbound.makeAsyncIterator()
            func nextReply() async throws -> RESPValue {
                guard let reply = try await replies.next() else {
                    throw RedisError.connectionFailed("the connection closed during the handshake")
                }
                return reply
            }

            if let password = configuration.password {
                var auth = RedisCommand("AUTH")
                if let username = configuration.username { auth.append(username) }
                auth.append(password)
                try await outbound.write(auth.encoded())
                if case .error(let message) = try await nextReply() {
                    throw RedisError.authenticationFailed(message)
                }
            }

            try await outbound.write(RedisCommand("SUBSCRIBE", arguments: channels).encoded())
            var confirmed = 0
            while confirmed < channels.count {
                let reply = try await nextReply()
                guard let items = reply.array, items.first?.string == "subscribe" else {
                    if case .error(let message) = reply, message.hasPrefix("NOAUTH") {
                        throw RedisError.authenticationFailed(message)
                    }
                    throw RedisError.unexpectedReply("SUBSCRIBE answered \(reply)")
                }
                confirmed += 1
            }
            handshakeDeadline.cancel()
            onSubscribed()
            continuation.yield(.subscribed)
            logger.debug("redis subscriber subscribed", metadata: ["channels": "\(channels)"])

            while let reply = try await replies.next() {
                guard let items = reply.array, items.count == 3, items[0].string == "message",
                    let channelName = items[1].string, let payload = items[2].bytes
                else { continue }
                continuation.yield(.message(channel: channelName, payload: payload))
            }
        }
    }
}
