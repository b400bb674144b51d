import CHiredis
import NIOCore

/// Turns the bytes a Redis server sends into `RESPValue`s with hiredis's `redisReader`.
/// Not thread-safe: each connection owns one and uses it on its event loop only.
final class RESPReplyParser {
    private let reader: UnsafeMutablePointer<redisReader>

    init() {
        guard let reader = redisReaderCreate() else {
            preconditionFailure("hiredis could not allocate a reply reader")
        }
        self.reader = reader
    }

    deinit {
        redisReaderFree(reader)
    }

    func feed(_ buffer: ByteBuffer) throws {
        let status = buffer.withUnsafeReadableBytes { bytes in
            redisReaderFeed(reader, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count)
        }
        guard status == REDIS_OK else { throw RedisError.protocolError(readerError) }
    }

    /// The next complete reply, or nil when more bytes are needed.
    func nextReply() throws -> RESPValue? {
        var replyPointer: UnsafeMutableRawPointer?
        guard redisReaderGetReply(reader, &replyPointer) == REDIS_OK else {
            throw RedisError.protocolError(readerError)
        }
        guard let replyPointer else { return nil }
        defer { freeReplyObject(replyPointer) }
        return Self.value(of: replyPointer.assumingMemoryBound(to: redisReply.self))
    }

    private var readerError: String {
        withUnsafeBytes(of: reader.pointee.errstr) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    private static func value(of reply: UnsafeMutablePointer<redisReply>) -> RESPValue {
        let reply = reply.pointee
        switch reply.type {
        case REDIS_REPLY_STRING:
            return .bulkString(bytes(reply.str, reply.len))
        case REDIS_REPLY_STATUS:
            return .simpleString(String(decoding: bytes(reply.str, reply.len), as: UTF8.self))
        case REDIS_REPLY_ERROR:
            return .error(String(decoding: bytes(reply.str, reply.len), as: UTF8.self))
        case REDIS_REPLY_INTEGER:
            return .integer(Int64(reply.integer))
        case REDIS_REPLY_ARRAY:
            guard let elements = reply.element else { return .array([]) }
            return .array((0..<reply.elements).map { index in
                elements[index].map(value(of:)) ?? .null
            })
        default:
            return .null
        }
    }

    private static func bytes(_ pointer: UnsafeMutablePointer<CChar>?, _ length: Int) -> [UInt8] {
        guard let pointer, length > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: length))
    }
}

/// Channel handler: bytes in, one `RESPValue` per complete reply out.
final class RESPReplyDecoder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = RESPValue

    private let parser = RESPReplyParser()

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        do {
            try parser.feed(buffer)
            while let reply = try parser.nextReply() {
                context.fireChannelRead(wrapInboundOut(reply))
            }
        } catch {
            context.fireErrorCaught(error)
            context.close(promise: nil)
        }
    }
}
