import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// Answers a request the HTTP parser refuses before the router sees it (a header block past
/// the decoder's limits, a broken request line) with docs/api.md's JSON error and closes the
/// connection, where the server would send an empty 400. A parser error met while a request
/// is being answered (a bad chunk in its body) is left to the router, which answers it.
final class MalformedRequestResponder: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private var requestsInProgress = 0
    private var answered = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) { requestsInProgress += 1 }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { requestsInProgress = max(0, requestsInProgress - 1) }
        context.write(data, promise: promise)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError, requestsInProgress == 0 else {
            context.fireErrorCaught(error)
            return
        }
        guard !answered else { return }
        answered = true
        let (status, code, message): (HTTPResponse.Status, String, String) =
            switch parserError {
            case .headerOverflow: (.contentTooLarge, "payload_too_large", "the request headers exceed 8 KiB")
            default: (.badRequest, "bad_request", "the request is not valid HTTP/1.1")
            }
        var json = JSONResponse()
        json.add("error", code)
        json.add("message", message)
        let body = json.body
        let head = HTTPResponse(
            status: status,
            headerFields: [.contentType: "application/json; charset=utf-8", .contentLength: String(body.readableBytes), .connection: "close"])
        context.write(wrapOutboundOut(.head(head)), promise: nil)
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
}
