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

    /// Where the parser puts an object's members as it reads them.
    protocol Members {
        associatedtype Name
        /// What to keep of a member's name (its UTF-8, escapes resolved) while its value is read.
        func name(_ utf8: UnsafeBufferPointer<UInt8>) -> Name
        /// False when a member of this name is already there.
        mutating func add(_ name: Name, _ value: Value) -> Bool
    }

    /// An object's members in the order written. A dictionary would cost more than the parse:
    /// its storage is a generic type the runtime looks up on every allocation, and these
    /// objects have a handful of members.
    struct Object: Members {
        struct Member {
            var name: String
            var value: Value
        }

        private(set) var members: [Member] = []
        /// Names, once there are too many members to compare one by one.
        private var names: Set<String>?

        var isEmpty: Bool { members.isEmpty }

        subscript(name: String) -> Value? {
            for member in members where member.name == name { return member.value }
            return nil
        }

        /// False when `name` is already there.
        mutating func add(_ name: String, _ value: Value) -> Bool {
            if names == nil, members.count >= 16 {
                names = Set(members.map(\.name))
            }
            guard names?.insert(name).inserted ?? (self[name] == nil) else { return false }
            if members.isEmpty { members.reserveCapacity(12) }
            members.append(Member(name: name, value: value))
            return true
        }

        func name(_ utf8: UnsafeBufferPointer<UInt8>) -> String {
            String(decoding: utf8, as: UTF8.self)
        }
    }

    struct Malformed: Error {}

    static func parse(_ bytes: [UInt8]) throws(Malformed) -> Object? {
        var object = Object()
        return try parse(bytes, into: &object) ? object : nil
    }

    /// False for JSON this parser leaves to `JSONDecoder`.
    static func parse(_ bytes: [UInt8], into members: inout some Members) throws(Malformed) -> Bool {
        try bytes.withUnsafeBufferPointer { bytes throws(Malformed) in
            var parser = Parser(bytes: bytes)
            return try parser.object(into: &members)
        }
    }

    /// Reads the bytes in place: slices of an array would retain it for every string.
    private struct Parser {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0

        init(bytes: UnsafeBufferPointer<UInt8>) {
            self.bytes = bytes
        }

        mutating func object(into members: inout some Members) throws(Malformed) -> Bool {
            skipWhitespace()
            guard next() == UInt8(ascii: "{") else { throw Malformed() }
            skipWhitespace()
            if peek() == UInt8(ascii: "}") {
                index += 1
            } else {
                memberLoop: while true {
                    skipWhitespace()
                    guard peek() == UInt8(ascii: "\"") else { throw Malformed() }
                    let name = try withString { members.name($0) }
                    skipWhitespace()
                    guard next() == UInt8(ascii: ":") else { throw Malformed() }
                    skipWhitespace()
                    guard let value = try value() else { return false }
                    guard members.add(name, value) else { throw Malformed() }
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
            return true
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
            try withString { String(decoding: $0, as: UTF8.self) }
        }

        /// Calls `body` with a string's UTF-8, escapes resolved and validated: the input's own
        /// bytes when it has no escapes.
        mutating func withString<Result>(_ body: (UnsafeBufferPointer<UInt8>) -> Result) throws(Malformed) -> Result {
            index += 1
            let start = index
            while index < bytes.count, bytes[index] != UInt8(ascii: "\""), bytes[index] != UInt8(ascii: "\\"), bytes[index] >= 0x20 {
                index += 1
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: "\"") {
                index += 1
                let utf8 = UnsafeBufferPointer(rebasing: bytes[start..<(index - 1)])
                try Self.validate(utf8)
                return body(utf8)
            }
            var output = Array(bytes[start..<index])
            while true {
                guard let byte = next() else { throw Malformed() }
                switch byte {
                case UInt8(ascii: "\""):
                    return try output.withUnsafeBufferPointer { (utf8) throws(Malformed) in
                        try Self.validate(utf8)
                        return body(utf8)
                    }
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

        /// ASCII, the common case, needs no validation (`String(validating:)` is generic and
        /// not specialized: it looks up type metadata on every call).
        static func validate(_ utf8: UnsafeBufferPointer<UInt8>) throws(Malformed) {
            guard utf8.allSatisfy({ $0 < 0x80 }) || String(validating: utf8, as: UTF8.self) != nil else { throw Malformed() }
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
            if index - start <= 16, peek() != UInt8(ascii: "."), peek() != UInt8(ascii: "e"), peek() != UInt8(ascii: "E") {
                return integer(bytes[start..<index])
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

        /// At most 16 characters: exact in an Int64, and its Double rounds as `Double(String)`
        /// would. NumericDates are read without making a String.
        func integer(_ text: Slice<UnsafeBufferPointer<UInt8>>) -> Double {
            var magnitude: Int64 = 0
            for byte in text where byte != UInt8(ascii: "-") {
                magnitude = magnitude * 10 + Int64(byte - UInt8(ascii: "0"))
            }
            return text.first == UInt8(ascii: "-") ? -Double(magnitude) : Double(magnitude)
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
