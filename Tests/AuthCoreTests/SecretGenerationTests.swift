import Testing

@testable import AuthCore

/// Session ids and refresh tokens: 256 bits, unpredictable, compared without leaking time.
@Suite struct SecretGenerationTests {
    @Test func secretsCarry256BitsThatLookRandom() throws {
        var seen = Set<String>()
        var ones = 0
        let count = 10_000
        for _ in 0..<count {
            let secret = OpaqueSecret.generate()
            #expect(OpaqueSecret.isWellFormed(secret))
            let bytes = try #require(Base64URL.decode(secret))
            #expect(bytes.count == 32)
            ones += bytes.reduce(0) { $0 + $1.nonzeroBitCount }
            seen.insert(secret)
        }
        #expect(seen.count == count, "a secret repeated")
        // 2,560,000 bits: a fair source lands within 0.5% of half (about 13 standard deviations).
        let share = Double(ones) / Double(count * 256)
        #expect(abs(share - 0.5) < 0.005, "share of one bits \(share)")
    }

    @Test func theComparisonIsByteExactAndLengthAware() {
        func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
            a.withUnsafeBytes { AuthCore.constantTimeEqual($0, b) }
        }
        let secret = Array(OpaqueSecret.generate().utf8)
        #expect(constantTimeEqual(secret, secret))
        var first = secret
        first[0] ^= 1
        var last = secret
        last[last.count - 1] ^= 0x80
        #expect(!constantTimeEqual(secret, first))
        #expect(!constantTimeEqual(secret, last))
        #expect(!constantTimeEqual(secret, Array(secret.dropLast())))
        #expect(!constantTimeEqual([], secret))
        #expect(constantTimeEqual([], []))
    }
}
