import Crypto
import Testing

@testable import AuthCore

/// The HS256 MAC the nodes compute: RFC 4231's HMAC-SHA-256 vectors, and swift-crypto's
/// `HMAC<SHA256>` for keys shorter than, equal to and longer than a block.
@Suite struct KeyedHMACSHA256Tests {
    @Test(arguments: [
        (Array(repeating: UInt8(0x0B), count: 20), Array("Hi There".utf8),
         "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
        (Array("Jefe".utf8), Array("what do ya want for nothing?".utf8),
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        (Array(repeating: UInt8(0xAA), count: 20), Array(repeating: UInt8(0xDD), count: 50),
         "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
        (Array(UInt8(1)...UInt8(25)), Array(repeating: UInt8(0xCD), count: 50),
         "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
        (Array(repeating: UInt8(0xAA), count: 131), Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
        (Array(repeating: UInt8(0xAA), count: 131),
         Array("This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.".utf8),
         "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
    ])
    func rfc4231(key: [UInt8], message: [UInt8], expected: String) {
        #expect(KeyedHMACSHA256(key: key).authenticationCode(for: message).hexString == expected)
    }

    @Test func agreesWithSwiftCryptosHMAC() {
        var generator = SystemRandomNumberGenerator()
        for keyLength in [0, 1, 31, 32, 48, 63, 64, 65, 127, 128, 200] {
            let key = (0..<keyLength).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let mac = KeyedHMACSHA256(key: key)
            for messageLength in [0, 1, 55, 56, 63, 64, 65, 350, 1000] {
                let message = (0..<messageLength).map { _ in UInt8.random(in: 0...255, using: &generator) }
                let expected = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key))
                #expect(Array(mac.authenticationCode(for: message)) == Array(expected), "key \(keyLength), message \(messageLength)")
                // The keyed states are copied, never changed: the same message gives the same MAC again.
                #expect(Array(mac.authenticationCode(for: message)) == Array(expected))
            }
        }
    }
}
