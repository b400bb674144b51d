/// RFC 4648 section 5, without padding, strict on decode. Table-driven: it runs on every
/// JWT request, three times.
public enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
    private static let values: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(index) }
        return table
    }()

    static func isAlphabet(_ byte: UInt8) -> Bool {
        values[Int(byte)] != 0xFF
    }

    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        let input = Array(bytes)
        var output: [UInt8] = []
        output.reserveCapacity((input.count * 4 + 2) / 3)
        var index = 0
        while index + 3 <= input.count {
            let chunk = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8 | UInt32(input[index + 2])
            output.append(alphabet[Int(chunk >> 18 & 63)])
            output.append(alphabet[Int(chunk >> 12 & 63)])
            output.append(alphabet[Int(chunk >> 6 & 63)])
            output.append(alphabet[Int(chunk & 63)])
            index += 3
        }
        switch input.count - index {
        case 1:
            let chunk = UInt32(input[index]) << 16
            output.append(alphabet[Int(chunk >> 18 & 63)])
            output.append(alphabet[Int(chunk >> 12 & 63)])
        case 2:
            let chunk = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8
            output.append(alphabet[Int(chunk >> 18 & 63)])
            output.append(alphabet[Int(chunk >> 12 & 63)])
            output.append(alphabet[Int(chunk >> 6 & 63)])
        default:
            break
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Nil for any character outside the alphabet, for padding, for an impossible length,
    /// and for non-canonical trailing bits (so one token has exactly one spelling).
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        let utf8 = text.utf8
        if let decoded = utf8.withContiguousStorageIfAvailable({ decode(bytes: $0) }) {
            return decoded
        }
        return Array(utf8).withUnsafeBufferPointer { decode(bytes: $0) }
    }

    private struct NotBase64URL: Error {}

    static func decode(bytes input: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        let remainder = input.count % 4
        guard remainder != 1 else { return nil }
        let outputCount = input.count / 4 * 3 + (remainder == 0 ? 0 : remainder - 1)
        return values.withUnsafeBufferPointer { values in
            try? [UInt8](unsafeUninitializedCapacity: outputCount) { output, initialized in
                // Four characters at a time; a character outside the alphabet is 0xFF, whose
                // high bits no value of the alphabet has.
                var index = 0
                while index + 4 <= input.count {
                    let first = values[Int(input[index])], second = values[Int(input[index + 1])]
                    let third = values[Int(input[index + 2])], fourth = values[Int(input[index + 3])]
                    guard (first | second | third | fourth) & 0xC0 == 0 else { throw NotBase64URL() }
                    let group = UInt32(first) << 18 | UInt32(second) << 12 | UInt32(third) << 6 | UInt32(fourth)
                    output[initialized] = UInt8(truncatingIfNeeded: group >> 16)
                    output[initialized + 1] = UInt8(truncatingIfNeeded: group >> 8)
                    output[initialized + 2] = UInt8(truncatingIfNeeded: group)
                    initialized += 3
                    index += 4
                }
                var group: UInt32 = 0
                for byte in input[index...] {
                    let value = values[Int(byte)]
                    guard value != 0xFF else { throw NotBase64URL() }
                    group = group << 6 | UInt32(value)
                }
                switch remainder {
                case 2:
                    guard group & 0x0F == 0 else { throw NotBase64URL() }
                    output[initialized] = UInt8(truncatingIfNeeded: group >> 4)
                    initialized += 1
                case 3:
                    guard group & 0x03 == 0 else { throw NotBase64URL() }
                    output[initialized] = UInt8(truncatingIfNeeded: group >> 10)
                    output[initialized + 1] = UInt8(truncatingIfNeeded: group >> 2)
                    initialized += 2
                default:
                    break
                }
            }
        }
    }
}
