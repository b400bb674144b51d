import Foundation
import LoadEngine
import NIOCore
import NIOPosix
import Synchronization

/// A TCP proxy that holds every chunk for a delay (plus jitter) in each direction before
/// passing it on, never reordering bytes: it puts a node "a network away" from Redis on
/// loopback. The delay can be changed while it runs (the control port of the CLI), and the
/// connections that subscribed (a node's revocation feed) can be stalled: nothing forwarded
/// either way, nothing closed, as a half-open link looks.
public final class DelayProxy: Sendable {
    public struct Delay: Sendable, Equatable, CustomStringConvertible {
        public var base: TimeAmount
        public var jitter: TimeAmount

        public init(base: TimeAmount, jitter: TimeAmount = .zero) {
            self.base = base
            self.jitter = jitter
        }

        /// One chunk's delay: `base` plus a uniform sample of plus or minus `jitter`, never below zero.
        func sample() -> TimeAmount {
            guard jitter > .zero else { return base }
            let offset = Int64.random(in: -jitter.nanoseconds...jitter.nanoseconds)
            return .nanoseconds(max(0, base.nanoseconds + offset))
        }

        public var description: String {
            "\(Double(base.nanoseconds) / 1e6) ms" + (jitter > .zero ? " ± \(Double(jitter.nanoseconds) / 1e6) ms" : "")
        }
    }

    public let upstreamHost: String
    public let upstreamPort: Int
    private let delayBox: Mutex<Delay>
    private let group: any EventLoopGroup
    private let feedStalled = Atomic(false)

    public init(upstreamHost: String, upstreamPort: Int, delay: Delay, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.upstreamHost = upstreamHost
        self.upstreamPort = upstreamPort
        self.delayBox = Mutex(delay)
        self.group = group
    }

    public var delay: Delay {
        get { delayBox.withLock { $0 } }
        set { delayBox.withLock { $0 = newValue } }
    }

    /// While true, connections that sent SUBSCRIBE forward nothing (their bytes wait).
    public var isFeedStalled: Bool {
        get { feedStalled.load(ordering: .relaxed) }
        set { feedStalled.store(newValue, ordering: .relaxed) }
    }

    /// Starts listening; returns the bound channel (its `localAddress` has the port).
    public func listen(host: String, port: Int) async throws -> any Channel {
        try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(.autoRead, value: false)
            .childChannelInitializer { inbound in self.connectUpstream(for: inbound) }
            .bind(host: host, port: port).get()
    }

    /// Connects to the upstream on the inbound connection's own event loop, then glues the two.
    private func connectUpstream(for inbound: any Channel) -> EventLoopFuture<Void> {
        ClientBootstrap(group: inbound.eventLoop)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(3))
            .connect(host: upstreamHost, port: upstreamPort)
            .flatMapThrowing { upstream in
                let delay: @Sendable () -> TimeAmount = { self.delay.sample() }
                let link = RelayLink(isFeedStalled: { self.isFeedStalled })
                try inbound.pipeline.syncOperations.addHandler(DelayedRelay(peer: upstream, delay: delay, link: link, fromClient: true))
                try upstream.pipeline.syncOperations.addHandler(DelayedRelay(peer: inbound, delay: delay, link: link, fromClient: false))
                inbound.read()
            }
            .flatMapError { error in inbound.close().flatMapThrowing { throw error } }
    }

    /// Applies a control line: `delay 2ms`, `delay 1ms jitter 0.2ms`; answers `ok <delay>`,
    /// or `error <reason>`. `get` answers the current delay; `stall feed` and `resume feed`
    /// stop and restart forwarding on the subscribed connections.
    public func control(_ line: String) -> String {
        let words = line.split(separator: " ").map(String.init)
        if words == ["get"] { return "ok \(delay)" }
        if words == ["stall", "feed"] || words == ["resume", "feed"] {
            isFeedStalled = words[0] == "stall"
            return isFeedStalled ? "ok feed stalled" : "ok feed resumed"
        }
        guard words.count == 2 || (words.count == 4 && words[2] == "jitter"), words[0] == "delay",
            let base = DurationText.parse(words[1]), let jitter = words.count == 4 ? DurationText.parse(words[3]) : .zero
        else { return "error expected 'delay 2ms', 'delay 2ms jitter 0.2ms', 'get', 'stall feed' or 'resume feed'" }
        delay = Delay(base: base, jitter: jitter)
        return "ok \(delay)"
    }
}

/// Reads from one side and writes to `peer` after the delay; a chunk never overtakes the one
/// before it. A close on this side closes the peer once everything before it was written.
///
/// The chunks wait in one queue, written in order by one timer: a timer per chunk let a chunk
/// whose (jittered) deadline had passed be written at once, or share a deadline with the one
/// before it, and overtake a chunk whose timer the busy loop had not run yet.
final class DelayedRelay: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private let peer: any Channel
    private let delay: @Sendable () -> TimeAmount
    private let link: RelayLink
    private let fromClient: Bool
    private var chunksSeen = 0
    private var waiting = CircularBuffer<(due: NIODeadline, bytes: ByteBuffer)>()
    private var closeWhenWritten = false

    init(peer: any Channel, delay: @escaping @Sendable () -> TimeAmount, link: RelayLink, fromClient: Bool) {
        self.peer = peer
        self.delay = delay
        self.link = link
        self.fromClient = fromClient
    }

    func channelActive(context: ChannelHandlerContext) {
        context.read()
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        // A subscriber says so in its first few commands; later chunks of a command connection
        // are not searched.
        if fromClient, !link.isSubscriber, chunksSeen < 8 {
            chunksSeen += 1
            link.isSubscriber = bytes.readableBytesView.firstRange(of: "SUBSCRIBE".utf8) != nil
        }
        let due = max(NIODeadline.now() + delay(), waiting.last?.due ?? .uptimeNanoseconds(0))
        waiting.append((due, bytes))
        // With chunks already waiting, their timer is set and will come to this one.
        if waiting.count == 1 { writeDue(on: context.eventLoop) }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.read()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if waiting.isEmpty {
            peer.close(promise: nil)
        } else {
            closeWhenWritten = true
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    /// Writes, in order, every chunk whose time has come; sets the timer for the next one.
    private func writeDue(on eventLoop: any EventLoop) {
        if link.isSubscriber, link.isFeedStalled() {
            eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(20)) { self.writeDue(on: eventLoop) }
            return
        }
        let now = NIODeadline.now()
        var wrote = false
        while let first = waiting.first, first.due <= now {
            peer.write(waiting.removeFirst().bytes, promise: nil)
            wrote = true
        }
        if wrote { peer.flush() }
        if let next = waiting.first {
            eventLoop.assumeIsolated().scheduleTask(deadline: next.due) { self.writeDue(on: eventLoop) }
        } else if closeWhenWritten {
            peer.close(promise: nil)
        }
    }
}

/// What the two relays of one proxied connection share (both run on its event loop).
final class RelayLink {
    var isSubscriber = false
    let isFeedStalled: @Sendable () -> Bool

    init(isFeedStalled: @escaping @Sendable () -> Bool) {
        self.isFeedStalled = isFeedStalled
    }
}

extension DelayProxy {
    /// A line protocol on its own port for changing the delay while the proxy runs:
    /// `printf 'delay 2ms\n' > /dev/tcp/127.0.0.1/PORT` (see `control(_:)`).
    public func listenForControl(host: String, port: Int) async throws -> any Channel {
        try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ControlLineHandler(proxy: self))
                }
            }
            .bind(host: host, port: port).get()
    }
}

/// Reads control lines (up to 256 bytes each) and answers each with one line.
final class ControlLineHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let proxy: DelayProxy
    private var pending: [UInt8] = []

    init(proxy: DelayProxy) {
        self.proxy = proxy
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        pending += unwrapInboundIn(data).readableBytesView
        while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
            let line = String(decoding: pending[..<newline], as: UTF8.self).trimmingCharacters(in: .whitespaces)
            pending.removeSubrange(...newline)
            let answer = proxy.control(line)
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: answer + "\n")), promise: nil)
        }
        if pending.count > 256 {
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: "error line too long\n")), promise: nil)
            context.close(promise: nil)
        }
    }
}
