import AuthCore
import Crypto
import Foundation
import JWTKit
import TestSupport
import Testing

/// jwt-kit's own payload type for the same claims, to sign and verify with jwt-kit itself.
struct JWTKitClaims: JWTPayload, Equatable {
    var iss: IssuerClaim
    var aud: AudienceClaim
    var sub: SubjectClaim
    var name: String
    var role: String
    var iat: IssuedAtClaim
    var exp: ExpirationClaim
    var jti: IDClaim

    func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired(currentDate: Date(timeIntervalSince1970: 1_800_000_000))
    }
}

@Suite struct AccessTokensTests {
    static let now: Double = 1_800_000_000
    static let secret = Array("0123456789abcdef0123456789abcdef!".utf8)
    let user = UserClaims(sub: "ann", name: "Ann", role: .writer)

    func tokens(_ ring: JWTKeyRing, clock: ManualClock = ManualClock(AccessTokensTests.now), lifetime: Int = 300) -> AccessTokens {
        AccessTokens(keyRing: ring, issuer: "authbench", audience: "authbench-api", lifetime: lifetime, leeway: 5, clock: clock)
    }

    static func pem(_ algorithm: JWTAlgorithmName) -> [UInt8] {
        switch algorithm {
        case .es256: Array(P256.Signing.PrivateKey().pemRepresentation.utf8)
        case .edDSA: Array(Curve25519.Signing.PrivateKey().pemRepresentation.utf8)
        default: secret
        }
    }

    /// The key material jwt-kit would use, in a collection of its own.
    static func jwtKitCollection(_ algorithm: JWTAlgorithmName, _ material: [UInt8], kid: String) async throws -> JWTKeyCollection {
        let collection = JWTKeyCollection()
        let id = JWKIdentifier(string: kid)
        switch algorithm {
        case .hs256: await collection.add(hmac: HMACKey(key: SymmetricKey(data: material)), digestAlgorithm: .sha256, kid: id)
        case .es256: await collection.add(ecdsa: try ES256PrivateKey(pem: String(decoding: material, as: UTF8.self)), kid: id)
        case .edDSA: await collection.add(eddsa: try EdDSA.PrivateKey(pem: String(decoding: material, as: UTF8.self)), kid: id)
        case .rs256: Issue.record("not used")
        }
        return collection
    }

    @Test(arguments: [JWTAlgorithmName.hs256, .es256, .edDSA])
    func tokensInteroperateWithJWTKit(_ algorithm: JWTAlgorithmName) async throws {
        let material = Self.pem(algorithm)
        let key = try await JWTKeyRing.loadKey(algorithm: algorithm, contents: material)
        let ours = tokens(JWTKeyRing(current: key))
        let jwtKit = try await Self.jwtKitCollection(algorithm, material, kid: key.kid)

        // Ours, verified by jwt-kit.
        let issued = try ours.issue(for: user, family: "fam")
        let verifiedByJWTKit = try await jwtKit.verify(issued.token, as: JWTKitClaims.self)
        #expect(verifiedByJWTKit.sub.value == "ann")
        #expect(verifiedByJWTKit.jti.value == issued.claims.jti)

        // jwt-kit's (its own header field order), verified by ours.
        let claims = JWTKitClaims(
            iss: "authbench", aud: "authbench-api", sub: "ann", name: "Ann", role: "writer",
            iat: .init(value: Date(timeIntervalSince1970: Self.now)), exp: .init(value: Date(timeIntervalSince1970: Self.now + 60)),
            jti: "fam.abc")
        let signedByJWTKit = try await jwtKit.sign(claims, kid: JWKIdentifier(string: key.kid))
        let verified = try ours.verify(signedByJWTKit)
        #expect(verified.user == user)
        #expect(verified.family == "fam")
    }

    @Test func theHS256FastPathGivesJWTKitsSignature() async throws {
        let key = try await JWTKeyRing.loadKey(algorithm: .hs256, contents: Self.secret)
        let issued = try tokens(JWTKeyRing(current: key)).issue(for: user, family: "f").token
        let parts = issued.split(separator: ".")
        let input = Array("\(parts[0]).\(parts[1])".utf8)
        let jwtKitCollection = try await Self.jwtKitCollection(.hs256, Self.secret, kid: key.kid)
        let jwtKitSignature = try await jwtKitCollection.getKey(for: JWKIdentifier(string: key.kid)).sign(input)
        #expect(Base64URL.encode(jwtKitSignature) == String(parts[2]))
    }

    @Test func previousKeysStillVerifyAndUnknownKeysDoNot() async throws {
        let old = try await JWTKeyRing.loadKey(algorithm: .hs256, contents: Self.secret)
        let new = try await JWTKeyRing.loadKey(algorithm: .edDSA, contents: Self.pem(.edDSA))
        let oldToken = try tokens(JWTKeyRing(current: old)).issue(for: user, family: "f").token
        let rotated = tokens(JWTKeyRing(current: new, previous: [old]))
        #expect(try rotated.verify(oldToken).sub == "ann")
        #expect(try rotated.verify(rotated.issue(for: user, family: "f").token).sub == "ann")
        let withoutOld = tokens(JWTKeyRing(current: new))
        #expect(throws: AccessTokenError.invalid("unknown kid")) { try withoutOld.verify(oldToken) }
        #expect(rotated.keyRing.jwks["keys"]?.count == 1, "HMAC keys are never published")
    }

    @Test func theHeaderCannotChooseTheAlgorithm() async throws {
        let key = try await JWTKeyRing.loadKey(algorithm: .hs256, contents: Self.secret)
        let verifier = tokens(JWTKeyRing(current: key))
        let claims = String(try verifier.issue(for: user, family: "f").token.split(separator: ".")[1])
        for alg in ["none", "None", "NONE", "nOnE", "HS512", "ES256"] {
            let header = Base64URL.encode(Array(#"{"alg":"\#(alg)","typ":"JWT","kid":"\#(key.kid)"}"#.utf8))
            for signature in ["", "AAAA"] {
                #expect(throws: AccessTokenError.self) { try verifier.verify("\(header).\(claims).\(signature)") }
            }
        }
        // A crit header naming an extension this node does not know is refused.
        let critical = Base64URL.encode(Array(#"{"alg":"HS256","kid":"\#(key.kid)","crit":["exp2"],"exp2":1}"#.utf8))
        let input = Array("\(critical).\(claims)".utf8)
        let mac = Base64URL.encode(HMAC<SHA256>.authenticationCode(for: input, using: SymmetricKey(data: Self.secret)))
        #expect(throws: AccessTokenError.invalid("unsupported critical header parameters")) {
            try verifier.verify("\(critical).\(claims).\(mac)")
        }
    }

    @Test func timeClaimsHonourTheLeeway() async throws {
        let clock = ManualClock(Self.now)
        let key = try await JWTKeyRing.loadKey(algorithm: .hs256, contents: Self.secret)
        let verifier = tokens(JWTKeyRing(current: key), clock: clock, lifetime: 60)
        let token = try verifier.issue(for: user, family: "f").token
        clock.advance(by: 64)
        #expect(try verifier.verify(token).sub == "ann", "within the 5 s leeway")
        clock.advance(by: 1)
        #expect(throws: AccessTokenError.expired) { try verifier.verify(token) }

        let future = ManualClock(Self.now - 10)
        #expect(throws: AccessTokenError.invalid("issued in the future")) {
            try tokens(JWTKeyRing(current: key), clock: future).verify(token)
        }
    }

    @Test func tamperingAndMalformedTokensAreInvalid() async throws {
        let key = try await JWTKeyRing.loadKey(algorithm: .hs256, contents: Self.secret)
        let verifier = tokens(JWTKeyRing(current: key))
        let token = try verifier.issue(for: user, family: "f").token
        let parts = token.split(separator: ".").map(String.init)
        var payload = try #require(Base64URL.decode(parts[1]))
        payload[payload.firstIndex(of: UInt8(ascii: "n"))!] = UInt8(ascii: "N")
        let cases = [
            "", ".", "..", "a.b", "a.b.c.d", "\(parts[0]).\(parts[1])", "\(parts[0]).\(parts[1]).",
            "\(parts[0]).\(Base64URL.encode(payload)).\(parts[2])",
            "\(parts[0]).\(parts[1]).\(parts[2].dropLast())", "\(parts[0]).\(parts[1]).\(parts[2])A",
            "\(parts[0]).\(parts[1]).\(parts[2])=", " \(token)", "\(parts[0]).\(parts[1]).\(parts[2].dropLast())+",
            String(repeating: "A", count: 5000),
        ]
        for bad in cases {
            #expect(throws: AccessTokenError.self, "\(bad.prefix(40))") { try verifier.verify(bad) }
        }
        #expect(try verifier.verify(token).sub == "ann")
    }

    @Test func rs256KeysFromPEMSignAndPublishTheirModulus() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rsa-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let pem = folder.appendingPathComponent("rs256.pem")
        let openssl = try CommandRun.run(program: "openssl", ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", pem.path])
        try #require(openssl.status == 0, "openssl is needed (scripts/bootstrap installs it): \(openssl.stderr)")
        let key = try await JWTKeyRing.loadKey(algorithm: .rs256, contents: Array(try Data(contentsOf: pem)))
        #expect(key.publicJWK?["kty"] == "RSA")
        #expect((key.publicJWK?["n"]?.count ?? 0) > 300)
        let verifier = tokens(JWTKeyRing(current: key))
        let token = try verifier.issue(for: user, family: "f").token
        #expect(try verifier.verify(token).sub == "ann")
        let header = try JSONDecoder().decode([String: String].self, from: Data(Base64URL.decode(token.split(separator: ".")[0])!))
        #expect(header["alg"] == "RS256")
    }

    @Test func keysAreCheckedAtLoad() async throws {
        await #expect(throws: JWTKeyError.self) { try await JWTKeyRing.loadKey(algorithm: .hs256, contents: Array("short".utf8)) }
        await #expect(throws: JWTKeyError.self) { try await JWTKeyRing.loadKey(algorithm: .es256, contents: Self.secret) }
        await #expect(throws: JWTKeyError.self) { try await JWTKeyRing.loadKey(algorithm: .edDSA, contents: Self.pem(.es256)) }
        await #expect(throws: JWTKeyError.self) { try await JWTKeyRing.loadKey(algorithm: .rs256, contents: Self.secret) }
        let first = try await JWTKeyRing.loadKey(algorithm: .es256, contents: Self.pem(.es256))
        #expect(first.publicJWK?["kty"] == "EC")
        #expect(first.publicJWK?["kid"] == first.kid)
    }
}
