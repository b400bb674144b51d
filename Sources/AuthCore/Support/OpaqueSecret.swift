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
