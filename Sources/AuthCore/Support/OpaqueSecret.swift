import Crypto
import Foundation

/// Session ids and refresh tokens: 256 random bits from the system CSPRNG, base64url
/// without padding (43 characters). Redis only ever sees their SHA-256.
public enum OpaqueSecret {
    public static let length = 43

    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Base64URL.encode(bytes)
    }

    /// True when `text` has the shape of a secret this node makes; anything else is rejected
    /// before it is hashed or sent anywhere.
    public static func isWellFormed(_ text: some StringProtocol) -> Bool {
        text.utf8.count == length && text.utf8.allSatisfy(Base64URL.isAlphabet)
    }

    /// Hex SHA-256, the form stored in Redis keys.
    public static func storageKey(of secret: some StringProtocol) -> String {
        SHA256.hash(data: Array(secret.utf8)).hexString
    }
}

extension Sequence where Element == UInt8 {
    var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var bytes: [UInt8] = []
        for byte in self {
            bytes.append(digits[Int(byte >> 4)])
            bytes.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// RFC 4648 section 5, without padding, strict on decode.
public enum Base64URL {
    static func isAlphabet(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
            true
        default:
            false
        }
    }

    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Nil for any character outside the alphabet, for padding, for an impossible length,
    /// and for non-canonical trailing bits (so one token has exactly one spelling).
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 4 != 1, utf8.allSatisfy(isAlphabet) else { return nil }
        var standard = utf8.map { byte -> UInt8 in
            switch byte {
            case UInt8(ascii: "-"): UInt8(ascii: "+")
            case UInt8(ascii: "_"): UInt8(ascii: "/")
            default: byte
            }
        }
        standard.append(contentsOf: repeatElement(UInt8(ascii: "="), count: (4 - utf8.count % 4) % 4))
        guard let data = Data(base64Encoded: Data(standard)) else { return nil }
        let bytes = [UInt8](data)
        guard encode(bytes).utf8.elementsEqual(utf8) else { return nil }
        return bytes
    }
}
