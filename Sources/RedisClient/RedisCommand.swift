import CHiredis
import NIOCore

/// A command and its arguments, binary-safe. Arguments are kept back to back in one
/// array so that encoding needs no allocation per argument.
public struct RedisCommand: Sendable, Hashable {
    private var argumentBytes: [UInt8] = []
    private var argumentLengths: [Int] = []

    public init(_ name: String) {
        append(name)
    }

    public init(_ name: String, _ arguments: String...) {
        append(name)
        for argument in arguments { append(argument) }
    }

    public var count: Int { argumentLengths.count }

    public mutating func append(_ argument: String) {
        argumentBytes.append(contentsOf: argument.utf8)
        argumentLengths.append(argument.utf8.count)
    }

    public mutating func append(_ argument: some Collection<UInt8>) {
        argumentBytes.append(contentsOf: argument)
        argumentLengths.append(argument.count)
    }

    public mutating func append(_ argument: Int) {
        append(String(argument))
    }

    /// The command name as sent, for logs and metrics (never the arguments: they may be secrets).
    public var name: String {
        String(decoding: argumentBytes.prefix(argumentLengths.first ?? 0), as: UTF8.self)
    }

    func encoded(allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: argumentBytes.count + 16 * argumentLengths.count)
        encode(into: &buffer)
        return buffer
    }

    /// Appends the RESP encoding of this command, made by hiredis's `redisFormatCommandArgv`.
    func encode(into buffer: inout ByteBuffer) {
        let argumentCount = argumentLengths.count
        var placeholder: UInt8 = 0
        withUnsafeMutablePointer(to: &placeholder) { placeholderPointer in
            argumentBytes.withUnsafeBufferPointer { bytes in
                argumentLengths.withUnsafeBufferPointer { lengths in
                    withUnsafeTemporaryAllocation(of: UnsafePointer<CChar>?.self, capacity: argumentCount) { argv in
                        let base = UnsafeRawPointer(bytes.baseAddress ?? UnsafePointer(placeholderPointer))
                        var offset = 0
                        for index in 0..<argumentCount {
                            argv[index] = (base + offset).assumingMemoryBound(to: CChar.self)
                            offset += lengths[index]
                        }
                        var target: UnsafeMutablePointer<CChar>?
                        let length = redisFormatCommandArgv(&target, Int32(argumentCount), argv.baseAddress, lengths.baseAddress)
                        defer { redisFreeCommand(target) }
                        guard length >= 0, let target else {
                            preconditionFailure("hiredis could not allocate a command of \(bytes.count) bytes")
                        }
                        buffer.writeBytes(UnsafeRawBufferPointer(start: target, count: Int(length)))
                    }
                }
            }
        }
    }
}
