import NIOCore
import Testing

@testable import RedisClient

@Suite struct RESPCodecTests {
    @Test func encodesBinaryArgumentsLengthPrefixed() {
        var command = RedisCommand("SET", "k")
        command.append([0x00, 0x0D, 0x0A, 0xFF] as [UInt8])
        command.append("")
        let encoded = Array(command.encoded().readableBytesView)
        let expected = Array("*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\n".utf8) + [0x00, 0x0D, 0x0A, 0xFF]
            + Array("\r\n$0\r\n\r\n".utf8)
        #expect(encoded == expected)
        #expect(command.name == "SET")
        #expect(command.count == 4)
    }

    @Test func parsesEveryReplyType() throws {
        let parser = RESPReplyParser()
        let wire = "+OK\r\n-ERR bad\r\n:-42\r\n$3\r\na\0b\r\n$-1\r\n*3\r\n:1\r\n*-1\r\n*1\r\n$0\r\n\r\n*0\r\n"
        try parser.feed(ByteBuffer(string: wire))
        var replies: [RESPValue] = []
        while let reply = try parser.nextReply() { replies.append(reply) }
        #expect(replies == [
            .simpleString("OK"),
            .error("ERR bad"),
            .integer(-42),
            .bulkString([0x61, 0x00, 0x62]),
            .null,
            .array([.integer(1), .null, .array([.bulkString([])])]),
            .array([]),
        ])
    }

    @Test func waitsForTheRestOfASplitReply() throws {
        let parser = RESPReplyParser()
        let wire = Array("$10\r\n0123456789\r\n".utf8)
        for byte in wire.dropLast() {
            try parser.feed(ByteBuffer(bytes: [byte]))
            #expect(try parser.nextReply() == nil)
        }
        try parser.feed(ByteBuffer(bytes: [wire.last!]))
        #expect(try parser.nextReply() == .bulkString(Array("0123456789".utf8)))
    }

    @Test func rejectsBytesThatAreNotRESP() throws {
        let parser = RESPReplyParser()
        try parser.feed(ByteBuffer(string: "?what\r\n"))
        #expect(throws: RedisError.self) { try parser.nextReply() }
    }
}
