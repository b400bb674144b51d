import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// What a connection's client may not do before the router sees a request.
///
/// Closes a connection whose next request is not wholly received (head and body) within
/// `timeout` of the connection opening or of its last response: a client trickling header or
/// body bytes (slowloris, slow POST) keeps resetting the idle timer, never this one. Waiting
/// on the node's own work does not count. One timer per connection and timeout period, not
/// one per request: the hot path only notes instants.
///
/// Answers a request the HTTP parser refuses between requests (a header block past the
/// decoder's limits, a broken request line) with docs/api.md's JSON error, where the server
/// would send an empty 400, and closes the connection. A parser error met while a request is
/// being answered (a bad chunk in its body) goes on to the router, which answers it.
final class ClientRequestGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let timeout: TimeAmount
    private var timer: Scheduled<Void>?
    /// Since when the connection has been waiting for a request, or receiving one; nil while
    /// none is owed (a request is whole and the node is answering it).
    private var owedSince: NIODeadline?
    private var requestsInProgress = 0
    private var refusedByTheParser = false

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        startWaiting(context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stopTimer()
    }

    func channelInactive(context: ChannelHandlerContext) {
        stopTimer()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            requestsInProgress += 1
            // A request pipelined behind one still being answered is owed from its first byte.
            if owedSince == nil { startWaiting(context) }
        case .body:
            break
        case .end:
            owedSince = nil
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            requestsInProgress = max(0, requestsInProgress - 1)
            if requestsInProgress == 0, owedSince == nil { startWaiting(context) }
        }
        context.write(data, promise: promise)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError, requestsInProgress == 0 else {
            context.fireErrorCaught(error)
            return
        }
        guard !refusedByTheParser else { return }
        refusedByTheParser = true
        stopTimer()
        let answer: APIError = if case .headerOverflow = parserError { .headersTooLarge } else { .notHTTP }
        let body = answer.json.body
        var fields = JSONResponse.headers
        fields[.contentLength] = String(body.readableBytes)
        fields[.connection] = "close"
        context.write(wrapOutboundOut(.head(HTTPResponse(status: answer.status, headerFields: fields))), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        // The rest of the request may still be arriving: closing with it unread would reset the
        // connection and could destroy the answer before the client reads it. So the node stops
        // writing, lets what comes in be dropped for a while, then closes.
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
            context.close(mode: .output, promise: nil)
            context.eventLoop.assumeIsolated().scheduleTask(in: Self.lingering) { context.close(promise: nil) }
        }
    }

    static let lingering = TimeAmount.seconds(2)

    private func startWaiting(_ context: ChannelHandlerContext) {
        let now = NIODeadline.now()
        owedSince = now
        if timer == nil { schedule(context, at: now + timeout) }
    }

    /// At the deadline: close if the request has been owed the whole timeout, else look again
    /// when the current wait would end.
    /// The timer runs on the channel's loop and is cancelled when the handler goes, so the
    /// context it holds is always this handler's, still in the pipeline.
    private func schedule(_ context: ChannelHandlerContext, at deadline: NIODeadline) {
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) {
            self.timer = nil
            guard let since = self.owedSince else { return }
            if NIODeadline.now() >= since + self.timeout {
                context.channel.close(promise: nil)
            } else {
                self.schedule(context, at: since + self.timeout)
            }
        }
    }

    private func stopTimer() {
        timer?.cancel()
        timer = nil
    }
}
