import AuthCore
import Foundation
import Testing

@Suite struct Base64URLTests {
    @Test func roundTripsEveryLengthAndMatchesFoundation() {
        for length in 0..<70 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 251) }
            let encoded = Base64URL.encode(bytes)
            let foundation = Data(bytes).base64EncodedString()
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
            #expect(encoded == foundation)
            #expect(Base64URL.decode(encoded) == bytes)
        }
    }

    @Test func rejectsWhatIsNotStrictBase64URL() {
        #expect(Base64URL.decode("QQ==") == nil, "padding")
        #expect(Base64URL.decode("QQ+/") == nil, "standard alphabet")
        #expect(Base64URL.decode("QR") == nil, "non-zero trailing bits: a second spelling of QQ")
        #expect(Base64URL.decode("QUJ") == nil, "non-zero trailing bits: a second spelling of QUI")
        #expect(Base64URL.decode("Q") == nil, "impossible length")
        #expect(Base64URL.decode("QQ QQ") == nil, "whitespace")
        #expect(Base64URL.decode("QQ") == [0x41])
        #expect(Base64URL.decode("QUI") == [0x41, 0x42])
        #expect(Base64URL.decode("") == [])
    }

    @Test func refusesAForeignCharacterAtEveryPosition() {
        let valid = Array(Base64URL.encode(Array(0..<20 as Range<UInt8>)).utf8)
        #expect(Base64URL.decode(String(decoding: valid, as: UTF8.self)) == Array(0..<20))
        for position in valid.indices {
            for foreign in Array("=+/ .\0".utf8) + [0x7F, 0x80, 0xC3, 0xFF] {
                var changed = valid
                changed[position] = foreign
                #expect(Base64URL.decode(String(decoding: changed, as: UTF8.self)) == nil, "\(position) \(foreign)")
            }
        }
    }
}
