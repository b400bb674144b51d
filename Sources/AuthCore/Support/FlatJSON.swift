/// A strict parser for the flat JSON objects on the hot path (access-token claims, stored
/// sessions): `{"name": value, ...}` where a value is a string, a number or an array of
/// strings. `JSONDecoder` costs more than the signature check; this costs a fraction.
///
/// `parse` returns nil for JSON it does not handle (nested objects, `true`, `null`...), so
/// the caller can fall back to `JSONDecoder`, and throws for what is not JSON at all or
/// names a member twice (RFC 8725: a claim must not be ambiguous).
enum FlatJSON {
    enum Value: Equatable {
        case string(String)
        case number(Double)
        case strings([String])

        var string: String? {
            if case .string(let value) = self { return value }
            return nil
        }

        var integer: Int64? {
            guard case .number(let value) = self, value.isFinite, abs(value) < 1e15 else { return nil }
            return Int64(value)
        }
    }

    struct Malformed: Error {}

    static func parse(_ bytes: [UInt8]) throws(Malformed) -> [String: Value]? {
        var parser = Parser(bytes: bytes)
        return try parser.object()
    }

    private struct Parser {
        let bytes: [UInt8]
        var index = 0

        init(bytes: [UInt8]) {
            self.bytes = bytes
        }

        mutating func object() throws(Malformed) -> [String: Value]? {
            skipWhitespace()
            guard next() == UInt8(ascii: "{") else { throw Malformed() }
            var members: [String: Value] = [:]
            skipWhitespace()
            if peek() == UInt8(ascii: "}") {
                index += 1
            } else {
                memberLoop: while true {
                    skipWhitespace()
                    guard peek() == UInt8(ascii: "\"") else { throw Malformed() }
                    let name = try string()
                    skipWhitespace()
                    guard next() == UInt8(ascii: ":") else { throw Malformed() }
                    skipWhitespace()
                    guard let value = try value() else { return nil }
                    guard members.updateValue(value, forKey: name) == nil else { throw Malformed() }
                    skipWhitespace()
                    switch next() {
                    case UInt8(ascii: ","): continue memberLoop
                    case UInt8(ascii: "}"): break memberLoop
                    default: throw Malformed()
                    }
                }
            }
            skipWhitespace()
            guard index == bytes.count else { throw Malformed() }
            return members
        }

        /// Nil for a value this parser leaves to `JSONDecoder`.
        mutating func value() throws(Malformed) -> Value? {
            guard let first = peek() else { throw Malformed() }
            switch first {
            case UInt8(ascii: "\""):
                return .string(try string())
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                return .number(try number())
            case UInt8(ascii: "["):
                index += 1
                var items: [String] = []
                skipWhitespace()
                if peek() == UInt8(ascii: "]") {
                    index += 1
                    return .strings(items)
                }
                while true {
                    skipWhitespace()
                    guard peek() == UInt8(ascii: "\"") else { return nil }
                    items.append(try string())
                    skipWhitespace()
                    switch next() {
                    case UInt8(ascii: ","): continue
                    case UInt8(ascii: "]"): return .strings(items)
                    default: throw Malformed()
                    }
                }
            case UInt8(ascii: "{"), UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
                return nil
            default:
                throw Malformed()
            }
        }

        mutating func string() throws(Malformed) -> String {
            index += 1
            let start = index
            while index < bytes.count, bytes[index] != UInt8(ascii: "\""), bytes[index] != UInt8(ascii: "\\"), bytes[index] >= 0x20 {
                index += 1
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: "\"") {
                guard let text = String(validating: bytes[start..<index], as: UTF8.self) else { throw Malformed() }
                index += 1
                return text
            }
            var output = Array(bytes[start..<index])
            while true {
                guard let byte = next() else { throw Malformed() }
                switch byte {
                case UInt8(ascii: "\""):
                    guard let text = String(validating: output, as: UTF8.self) else { throw Malformed() }
                    return text
                case UInt8(ascii: "\\"):
                    guard let escape = next() else { throw Malformed() }
                    switch escape {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): output.append(escape)
                    case UInt8(ascii: "b"): output.append(0x08)
                    case UInt8(ascii: "f"): output.append(0x0C)
                    case UInt8(ascii: "n"): output.append(0x0A)
                    case UInt8(ascii: "r"): output.append(0x0D)
                    case UInt8(ascii: "t"): output.append(0x09)
                    case UInt8(ascii: "u"): output.append(contentsOf: try unicodeEscape())
                    default: throw Malformed()
                    }
                case 0x00..<0x20:
                    throw Malformed()
                default:
                    output.append(byte)
                }
            }
        }

        mutating func unicodeEscape() throws(Malformed) -> [UInt8] {
            var scalar = try hex4()
            if (0xD800..<0xDC00).contains(scalar) {
                guard next() == UInt8(ascii: "\\"), next() == UInt8(ascii: "u") else { throw Malformed() }
                let low = try hex4()
                guard (0xDC00..<0xE000).contains(low) else { throw Malformed() }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            }
            guard let unicode = Unicode.Scalar(scalar) else { throw Malformed() }
            return Array(String(Character(unicode)).utf8)
        }

        mutating func hex4() throws(Malformed) -> UInt32 {
            var value: UInt32 = 0
            for _ in 0..<4 {
                guard let byte = next() else { throw Malformed() }
                let digit: UInt32
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
                default: throw Malformed()
                }
                value = value << 4 | digit
            }
            return value
        }

        /// JSON's number grammar, checked byte by byte, then read by `Double`.
        mutating func number() throws(Malformed) -> Double {
            let start = index
            if peek() == UInt8(ascii: "-") { index += 1 }
            guard let first = peek(), isDigit(first) else { throw Malformed() }
            index += 1
            if first != UInt8(ascii: "0") {
                while let byte = peek(), isDigit(byte) { index += 1 }
            }
            if peek() == UInt8(ascii: ".") {
                index += 1
                guard let byte = peek(), isDigit(byte) else { throw Malformed() }
                while let byte = peek(), isDigit(byte) { index += 1 }
            }
            if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
                index += 1
                if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { index += 1 }
                guard let byte = peek(), isDigit(byte) else { throw Malformed() }
                while let byte = peek(), isDigit(byte) { index += 1 }
            }
            guard let value = Double(String(decoding: bytes[start..<index], as: UTF8.self)) else { throw Malformed() }
            return value
        }

        func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }

        func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func next() -> UInt8? {
            guard index < bytes.count else { return nil }
            defer { index += 1 }
            return bytes[index]
        }

        mutating func skipWhitespace() {
            while let byte = peek(), byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { index += 1 }
        }
    }
}
