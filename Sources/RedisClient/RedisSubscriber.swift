import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// What a subscriber sees.
public enum RedisSubscriberEvent: Sendable, Hashable {
    /// Subscribed to every channel, first or again after a reconnect. Anything published
    /// while no connection was up is lost, so this is the moment to reload state.
    case subscribed
    case message(channel: String, payload: [UInt8])
    /// With `trackingPrefixes`: these keys changed (written, deleted, expired, evicted) since
    /// the last such event; nil when Redis dropped every key at once (FLUSHDB, FLUSHALL).
    case invalidated(keys: [[UInt8]]?)
    /// Redis answered a PING sent at this instant, so every message published before it has
    /// arrived: the subscription was alive and complete up to then.
    case confirmed(upTo: NIODeadline)
    /// The connection could not be made, was lost, or left a PING unanswered for a whole
    /// few `pingInterval`s; the subscriber retries with backoff.
    case disconnected(RedisError)
}

/// SUBSCRIBE on a connection of its own, with its events as an `AsyncSequence`. It
/// reconnects and resubscribes by itself until the service ends (graceful shutdown or
/// cancellation), which finishes `events`. `events` has one consumer.
///
/// A subscribed connection only listens, so a half-open one (Redis stalled, a link cut
/// without a reset) would be silent for ever: every `pingInterval` it sends a PING, and a PING
/// still unanswered `OutstandingPings.limit` intervals later closes the connection (then it
/// reconnects). `confirmed` events say how fresh the subscription is meanwhile.
///
/// With `trackingPrefixes` the connection also turns on Redis's broadcast key tracking for
/// those prefixes and receives the invalidations itself (`CLIENT TRACKING on REDIRECT <own id>
/// BCAST`, which RESP2 delivers on `__redis__:invalidate`): every change to a key under a
/// prefix, by any client, arrives as an `invalidated` event, in order with the PONGs. The
/// tracking belongs to this connection alone, so it ends (and a reconnect starts it afresh)
/// exactly when `disconnected` and `subscribed` say.
public final class RedisSubscriber: Service, Sendable {
    /// The channel RESP2 delivers tracking invalidations on.
    public static let invalidationChannel = "__redis__:invalidate"
    public let channels: [String]
    public let trackingPrefixes: [String]
    public let pingInterval: TimeAmount
    public let events: AsyncStream<RedisSubscriberEvent>
    private let continuation: AsyncStream<RedisSubscriberEvent>.Continuation
    private let configuration: RedisConfiguration
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger

    /// The PING interval for a feed whose news may be at most `staleness` old: four PINGs within
    /// the bound, so a live connection is confirmed well inside it, and never more than a second
    /// apart, so a dead one (a cut link, no reset) is replaced within a few seconds whatever the
    /// bound, and the feed is back soon after the link is.
    public static func pingInterval(forStaleness staleness: TimeAmount) -> TimeAmount {
        .nanoseconds(min(max(staleness.nanoseconds / 4, 10_000_000), 1_000_000_000))
    }

    public init(
        configuration: RedisConfiguration,
        channels: [String],
        trackingPrefixes: [String] = [],
        pingInterval: TimeAmount = .seconds(1),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "RedisSubscriber")
    ) {
        precondition(!channels.isEmpty || !trackingPrefixes.isEmpty, "a subscriber needs a channel or a tracking prefix")
        precondition(pingInterval > .zero, "the ping interval must be positive")
        self.configuration = configuration
        self.channels = channels
        self.trackingPrefixes = trackingPrefixes
        self.pingInterval = pingInterval
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
                .channelOption(.socketOption(.so_keepalive), value: 1)
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

            var subscribing = channels
            if !trackingPrefixes.isEmpty {
                try await outbound.write(RedisCommand("CLIENT", arguments: ["ID"]).encoded())
                guard let id = try await nextReply().integer else {
                    throw RedisError.unexpectedReply("CLIENT ID did not answer an integer")
                }
                var tracking = RedisCommand("CLIENT", arguments: ["TRACKING", "on", "REDIRECT", String(id), "BCAST"])
                for prefix in trackingPrefixes {
                    tracking.append("PREFIX")
                    tracking.append(prefix)
                }
                try await outbound.write(tracking.encoded())
                let reply = try await nextReply()
                if case .error(let message) = reply {
                    if message.hasPrefix("NOAUTH") { throw RedisError.authenticationFailed(message) }
                    throw RedisError.server("CLIENT TRACKING: \(message)")
                }
                subscribing.append(Self.invalidationChannel)
            }

            try await outbound.write(RedisCommand("SUBSCRIBE", arguments: subscribing).encoded())
            var confirmed = 0
            while confirmed < subscribing.count {
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

            let pings = OutstandingPings()
            do {
                try await forward(replies: &replies, pinging: outbound, pings, closing: channel.channel)
            } catch {
                if pings.timedOut { throw RedisError.timeout }
                throw error
            }
            if pings.timedOut { throw RedisError.timeout }
        }
    }

    /// Messages and PONGs from a subscribed connection, with a PING every `pingInterval`,
    /// until the connection ends (by Redis, or closed for a PING left unanswered).
    private func forward(
        replies: inout NIOAsyncChannelInboundStream<RESPValue>.AsyncIterator, pinging outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>,
        _ pings: OutstandingPings, closing channel: any Channel
    ) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { [pingInterval] in
                try await Self.ping(every: pingInterval, outbound, pings, closing: channel)
            }
            defer { group.cancelAll() }
            while let reply = try await replies.next() {
                guard let items = reply.array, let kind = items.first?.string else { continue }
                if kind == "pong", let sentAt = pings.answered() {
                    continuation.yield(.confirmed(upTo: sentAt))
                } else if kind == "message", items.count == 3, let channelName = items[1].string {
                    if channelName == Self.invalidationChannel {
                        continuation.yield(.invalidated(keys: items[2].array?.compactMap(\.bytes)))
                    } else if let payload = items[2].bytes {
                        continuation.yield(.message(channel: channelName, payload: payload))
                    }
                }
            }
        }
    }

    /// A PING every `interval`; when `OutstandingPings.limit` are unanswered, the connection
    /// is closed instead (which ends the reading loop).
    private static func ping(
        every interval: TimeAmount, _ outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>, _ pings: OutstandingPings,
        closing channel: any Channel
    ) async throws {
        let ping = RedisCommand("PING").encoded()
        while !Task.isCancelled {
            guard pings.sent(at: .now()) else {
                channel.close(promise: nil)
                return
            }
            try await outbound.write(ping)
            try await Task.sleep(for: .nanoseconds(interval.nanoseconds))
        }
    }
}

/// The PINGs a subscribed connection sent and Redis has not answered yet, oldest first
/// (Redis answers them in order).
private final class OutstandingPings: Sendable {
    /// Unanswered PINGs that end a connection: a reply late by one interval (a busy Redis, a
    /// busy machine) is no reason to reconnect.
    static let limit = 3
    private let state = Mutex<(sentAt: [NIODeadline], timedOut: Bool)>(([], false))

    /// Records a PING about to be sent; false (and timed out from then on) when `limit` are
    /// still unanswered.
    func sent(at instant: NIODeadline) -> Bool {
        state.withLock { state in
            guard state.sentAt.count < Self.limit else {
                state.timedOut = true
                return false
            }
            state.sentAt.append(instant)
            return true
        }
    }

    /// The send time of the PING a PONG answers.
    func answered() -> NIODeadline? {
        state.withLock { state in state.sentAt.isEmpty ? nil : state.sentAt.removeFirst() }
    }

    var timedOut: Bool { state.withLock { $0.timedOut } }
}
