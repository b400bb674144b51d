import Logging
import NIOCore
import NIOPosix

/// One open, authenticated connection. Lives on its channel's event loop: every method
/// must be called there, which is what makes the unchecked Sendable sound.
final class RedisConnection: @unchecked Sendable {
    let channel: Channel
    private var flushScheduled = false

    private init(channel: Channel) {
        self.channel = channel
    }

    /// Queues the request; the flush runs once the event loop has taken every request
    /// queued before it, so concurrent callers share one write syscall.
    func send(_ bytes: ByteBuffer, promise: EventLoopPromise<RESPValue>) {
        let written = channel.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenFailure { _ in promise.fail(RedisError.connectionClosed) }
        channel.write(RedisRequest(bytes: bytes, promise: promise), promise: written)
        guard !flushScheduled else { return }
        flushScheduled = true
        channel.eventLoop.assumeIsolated().execute {
            self.flushScheduled = false
            self.channel.flush()
        }
    }

    func send(_ command: RedisCommand) -> EventLoopFuture<RESPValue> {
        let promise = channel.eventLoop.makePromise(of: RESPValue.self)
        send(command.encoded(allocator: channel.allocator), promise: promise)
        return promise.futureResult.flatMapThrowing { reply in
            if case .error(let message) = reply { throw RedisError.server(message) }
            return reply
        }
    }

    /// Connects, then AUTH and SELECT as the configuration asks and a PING that proves the
    /// connection may run commands; the whole of it bounded by the connect timeout.
    static func connect(
        to configuration: RedisConfiguration,
        on eventLoop: EventLoop,
        logger: Logger
    ) -> EventLoopFuture<RedisConnection> {
        let commandTimeout = configuration.commandTimeout
        let channelFuture = ClientBootstrap(group: eventLoop)
            .connectTimeout(configuration.connectTimeout)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            // A peer gone without a FIN or RST (a host down, a cut link) shows up as a reset.
            .channelOption(.socketOption(.so_keepalive), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers(
                        RESPReplyDecoder(),
                        RedisCommandHandler(commandTimeout: commandTimeout)
                    )
                }
            }
            .connect(host: configuration.host, port: configuration.port)
            .flatMapErrorThrowing { error in
                throw RedisError.connectionFailed(Self.describe(connectError: error, configuration))
            }

        return channelFuture.flatMap { channel in
            let connection = RedisConnection(channel: channel)
            let handshakeDeadline = eventLoop.scheduleTask(in: configuration.connectTimeout) {
                channel.close(promise: nil)
            }
            return connection.handshake(configuration)
                .map { connection }
                .flatMapErrorThrowing { error in
                    channel.close(promise: nil)
                    if case .authenticationFailed = error as? RedisError { throw error }
                    if case .server(let message) = error as? RedisError { throw RedisError.connectionFailed(message) }
                    throw RedisError.connectionFailed(
                        "\(configuration.host):\(configuration.port): no answer to the handshake within the connect timeout"
                    )
                }
                .always { _ in handshakeDeadline.cancel() }
        }
        .always { result in
            if case .failure(let error) = result {
                logger.debug("redis connect failed", metadata: ["redis": "\(configuration)", "error": "\(error)"])
            }
        }
    }

    private func handshake(_ configuration: RedisConfiguration) -> EventLoopFuture<Void> {
        var steps: [EventLoopFuture<Void>] = []
        if let password = configuration.password {
            var auth = RedisCommand("AUTH")
            if let username = configuration.username { auth.append(username) }
            auth.append(password)
            steps.append(send(auth).flatMapErrorThrowing { error in
                if case .server(let message) = error as? RedisError { throw RedisError.authenticationFailed(message) }
                throw error
            }.map { _ in })
        }
        if configuration.database != 0 {
            var select = RedisCommand("SELECT")
            select.append(configuration.database)
            steps.append(send(select).map { _ in })
        }
        steps.append(send(RedisCommand("PING")).flatMapErrorThrowing { error in
            if let code = (error as? RedisError)?.serverErrorCode, code == "NOAUTH" || code == "WRONGPASS" {
                throw RedisError.authenticationFailed("\(error)")
            }
            throw error
        }.map { _ in })
        return EventLoopFuture.andAllSucceed(steps, on: channel.eventLoop)
    }

    static func describe(connectError error: Error, _ configuration: RedisConfiguration) -> String {
        let target = "\(configuration.host):\(configuration.port)"
        if let error = error as? NIOConnectionError {
            if let dnsError = error.dnsAError ?? error.dnsAAAAError, error.connectionErrors.isEmpty {
                return "\(target): cannot resolve host (\(dnsError))"
            }
            let reasons = error.connectionErrors.map { "\($0.error)" }
            return "\(target): \(reasons.isEmpty ? "no address to connect to" : reasons.joined(separator: "; "))"
        }
        if case ChannelError.connectTimeout = error {
            return "\(target): connect timed out after \(configuration.connectTimeout)"
        }
        return "\(target): \(error)"
    }
}
