import Foundation

/// The member names of a JSON object's top level. `JSONDecoder` keeps one of two members of
/// the same name without a word; RFC 7519 (section 4) and RFC 8725 want a JWT whose header
/// or claims name a member twice refused. `FlatJSON` refuses duplicates itself; this guards
/// the `JSONDecoder` paths (a foreign header, a payload with a nested member).
enum JSONMemberNames {
    /// True when `json` is an object none of whose top-level names repeats, escapes decoded
    /// (`"na\u006de"` is `"name"`); false when one repeats or `json` is not an object. Values
    /// are skipped, not validated: the decoder that follows does that.
    static func areUnique(_ json: [UInt8]) -> Bool {
        var index = 0
        func skipWhitespace() {
            while index < json.count, json[index] == 0x20 || json[index] == 0x0A || json[index] == 0x0D || json[index] == 0x09 {
                index += 1
            }
        }
        /// From an opening quote to just past its closing one; the string's raw bytes, or nil.
        func string() -> ArraySlice<UInt8>? {
            guard index < json.count, json[index] == UInt8(ascii: "\"") else { return nil }
            let start = index + 1
            index = start
            while index < json.count {
                switch json[index] {
                case UInt8(ascii: "\\"): index += 2
                case UInt8(ascii: "\""):
                    index += 1
                    return json[start..<(index - 1)]
                default: index += 1
                }
            }
            return nil
        }
        /// A value of any kind, nested objects and arrays whole.
        func skipValue() -> Bool {
            var depth = 0
            while index < json.count {
                switch json[index] {
                case UInt8(ascii: "\""):
                    guard string() != nil else { return false }
                    if depth == 0 { return true }
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    if depth == 0 { return true }
                    depth -= 1
                    if depth == 0 {
                        index += 1
                        return true
                    }
                case UInt8(ascii: ","): if depth == 0 { return true }
                default: break
                }
                index += 1
            }
            return depth == 0
        }

        skipWhitespace()
        guard index < json.count, json[index] == UInt8(ascii: "{") else { return false }
        index += 1
        var seen = Set<String>()
        while true {
            skipWhitespace()
            if index < json.count, json[index] == UInt8(ascii: "}"), seen.isEmpty { return true }
            guard let raw = string(), let name = decodedName(raw), seen.insert(name).inserted else { return false }
            skipWhitespace()
            guard index < json.count, json[index] == UInt8(ascii: ":") else { return false }
            index += 1
            skipWhitespace()
            guard skipValue() else { return false }
            skipWhitespace()
            guard index < json.count else { return false }
            if json[index] == UInt8(ascii: "}") { return true }
            guard json[index] == UInt8(ascii: ",") else { return false }
            index += 1
        }
    }

    /// A name as JSON means it: the raw bytes when they hold no escape, else JSON's own decoding.
    private static func decodedName(_ raw: ArraySlice<UInt8>) -> String? {
        guard raw.contains(UInt8(ascii: "\\")) else { return String(decoding: raw, as: UTF8.self) }
        return try? JSONDecoder().decode(String.self, from: Data([UInt8(ascii: "\"")] + raw + [UInt8(ascii: "\"")]))
    }
}
