import Crypto
import Foundation
import JWTKit
import Testing

@testable import AuthCore

/// The JWS examples of RFC 7515, RFC 7520 and RFC 8037: each verifies with the verifier the
/// nodes use, and the same token with any one character changed does not.
@Suite struct StandardVectorTests {
    struct Vector: Sendable, CustomTestStringConvertible {
        var name: String
        var algorithm: JWTAlgorithmName
        var keyMaterial: [UInt8]
        var token: String
        var testDescription: String { name }
    }

    static func decode(_ text: String) -> [UInt8] { Base64URL.decode(text)! }

    /// RFC 7515 appendix A.1: HS256 with the JWK `k` of A.1.1.
    static let rfc7515A1 = Vector(
        name: "RFC 7515 A.1 (HS256)", algorithm: .hs256,
        keyMaterial: decode("AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"),
        token: "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
            + ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
            + ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")

    /// RFC 7520 section 4.4: HS256 with a `kid`, over the Frodo payload of section 4.
    static let rfc7520S44 = Vector(
        name: "RFC 7520 4.4 (HS256, kid)", algorithm: .hs256,
        keyMaterial: decode("hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG-Onbc6mxCcYg"),
        token: "eyJhbGciOiJIUzI1NiIsImtpZCI6IjAxOGMwYWU1LTRkOWItNDcxYi1iZmQ2LWVlZjMxNGJjNzAzNyJ9"
            + ".SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlvdXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24ndCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4"
            + ".s0h6KThzkfBBBkLspW1h84VsJZFTsPPqMDA7g1Md7p0")

    /// RFC 8037 appendix A.4: Ed25519 with the private key `d` of A.1.
    static let rfc8037A4 = Vector(
        name: "RFC 8037 A.4 (EdDSA)", algorithm: .edDSA,
        keyMaterial: Array(try! Curve25519.Signing.PrivateKey(rawRepresentation: decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A")).pemRepresentation.utf8),
        token: "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
            + ".hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg")

    static let vectors = [rfc7515A1, rfc7520S44, rfc8037A4]

    /// The node's signature check over a compact JWS: strict base64url, then the key's verification.
    static func signatureVerifies(_ token: String, with key: JWTSigningKey) -> Bool {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, Base64URL.decode(parts[0]) != nil, Base64URL.decode(parts[1]) != nil,
            let signature = Base64URL.decode(parts[2])
        else { return false }
        return Array("\(parts[0]).\(parts[1])".utf8).withUnsafeBytes { key.verifies(signature, of: $0) }
    }

    @Test(arguments: vectors)
    func verifiesAndNotWithAnyCharacterChanged(_ vector: Vector) async throws {
        let key = try await JWTKeyRing.loadKey(algorithm: vector.algorithm, contents: vector.keyMaterial)
        #expect(Self.signatureVerifies(vector.token, with: key))
        let characters = Array(vector.token)
        var changedPositions = 0
        for index in characters.indices where characters[index] != "." {
            var changed = characters
            changed[index] = characters[index] == "A" ? "B" : "A"
            #expect(!Self.signatureVerifies(String(changed), with: key), "\(vector.name): character \(index) changed")
            changedPositions += 1
        }
        #expect(changedPositions == characters.count - 2)
    }

    @Test func theEd25519KeyIsTheOneOfTheRFC() async throws {
        let key = try await JWTKeyRing.loadKey(algorithm: .edDSA, contents: Self.rfc8037A4.keyMaterial)
        #expect(key.publicJWK?["x"] == "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
    }

    /// jwt-kit over RFC 7515 A.1 with the clock set by the test: valid until its `exp`, expired after.
    struct A1Claims: JWTPayload {
        var iss: IssuerClaim
        var exp: ExpirationClaim
        @TaskLocal static var now = Date()

        func verify(using algorithm: some JWTAlgorithm) async throws {
            try exp.verifyNotExpired(currentDate: Self.now)
        }
    }

    @Test func jwtKitAgreesAndHonoursTheInjectedClock() async throws {
        let collection = JWTKeyCollection()
        await collection.add(hmac: HMACKey(key: SymmetricKey(data: Self.rfc7515A1.keyMaterial)), digestAlgorithm: .sha256)
        let claims = try await A1Claims.$now.withValue(Date(timeIntervalSince1970: 1_300_819_000)) {
            try await collection.verify(Self.rfc7515A1.token, as: A1Claims.self)
        }
        #expect(claims.iss.value == "joe")
        await #expect(throws: JWTError.self) {
            try await A1Claims.$now.withValue(Date(timeIntervalSince1970: 1_300_819_381)) {
                try await collection.verify(Self.rfc7515A1.token, as: A1Claims.self)
            }
        }
    }

    @Test func ourVerifierRefusesTheVectorsKidAndClaimsItDoesNotKnow() async throws {
        // The vectors' keys verify their signatures above; as access tokens of a node they still
        // fail: A.1 has no kid and none of the contract's claims, 4.4 a kid the ring lacks.
        let key = try await JWTKeyRing.loadKey(algorithm: .hs256, contents: Self.rfc7520S44.keyMaterial)
        let verifier = AccessTokens(
            keyRing: JWTKeyRing(current: key), issuer: "joe", audience: "x", lifetime: 60, leeway: 0,
            clock: ManualClock(1_300_819_000))
        #expect(throws: AccessTokenError.invalid("unknown kid")) { try verifier.verify(Self.rfc7520S44.token) }
        #expect(throws: AccessTokenError.invalid("unknown kid")) { try verifier.verify(Self.rfc7515A1.token) }
    }
}
