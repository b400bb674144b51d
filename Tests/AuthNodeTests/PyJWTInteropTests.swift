import AuthCore
import Crypto
import Foundation
import Hummingbird
import HummingbirdTesting
import TestSupport
import Testing

/// Tokens a node issues verify with PyJWT, and PyJWT's tokens with the same key and claims
/// are accepted by a node: another implementation agrees with ours on every byte that matters.
@Suite(.pyJWT) struct PyJWTInteropTests {
    /// verify KEYFILE ALG TOKEN: prints the claims as JSON. sign KEYFILE ALG KID CLAIMS: prints a token.
    static let script = #"""
        import json, sys, jwt
        from cryptography.hazmat.primitives.serialization import load_pem_private_key
        action, key_file, alg = sys.argv[1:4]
        raw = open(key_file, "rb").read()
        private = raw if alg == "HS256" else load_pem_private_key(raw, password=None)
        if action == "verify":
            public = raw if alg == "HS256" else private.public_key()
            header = jwt.get_unverified_header(sys.argv[4])
            claims = jwt.decode(sys.argv[4], public, algorithms=[alg], audience="authbench-api", issuer="authbench",
                                options={"require": ["iss", "aud", "sub", "iat", "exp", "jti"]})
            print(json.dumps({"header": header, "claims": claims}))
        else:
            print(jwt.encode(json.loads(sys.argv[5]), private, algorithm=alg, headers={"kid": sys.argv[4], "typ": "JWT"}))
        """#

    static func python(_ arguments: [String]) throws -> String {
        let python = try #require(TestEnvironment.python, "AUTHBENCH_TEST_PYTHON is not set (scripts/test sets it)")
        let run = try CommandRun.run(URL(fileURLWithPath: python), ["-c", script] + arguments)
        guard run.status == 0 else { throw TestSupportError("PyJWT: \(run.stderr)") }
        return run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func keyMaterial(_ algorithm: JWTAlgorithmName) -> [UInt8] {
        switch algorithm {
        case .hs256: Array(OpaqueSecret.generate().utf8)
        case .es256: Array(P256.Signing.PrivateKey().pemRepresentation.utf8)
        case .edDSA: Array(Curve25519.Signing.PrivateKey().pemRepresentation.utf8)
        case .rs256: []
        }
    }

    @Test(arguments: [JWTAlgorithmName.hs256, .es256, .edDSA])
    func tokensCrossBothWays(_ algorithm: JWTAlgorithmName) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pyjwt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let keyFile = folder.appendingPathComponent("key")
        let material = Self.keyMaterial(algorithm)
        try Data(material).write(to: keyFile)
        let key = try await JWTKeyRing.loadKey(algorithm: algorithm, contents: material)
        let node = try await NodeHarness.make(.inMemory, keyRing: JWTKeyRing(current: key))
        let now = Int(try #require(node.clock).now())

        try await node.test(.router) { client in
            // The node's token, verified by PyJWT with the same key (the public half for ES256 and EdDSA).
            let issued = try await client.login("writer1", mode: "jwt").decoded(Login.self).access_token
            let verified = try JSONSerialization.jsonObject(
                with: Data(try Self.python(["verify", keyFile.path, algorithm.rawValue, issued]).utf8)) as? [String: [String: Any]]
            #expect(verified?["claims"]?["sub"] as? String == "writer1")
            #expect(verified?["claims"]?["role"] as? String == "writer")
            #expect(verified?["header"]?["kid"] as? String == key.kid)
            #expect(verified?["header"]?["alg"] as? String == algorithm.rawValue)

            // PyJWT's token (its own header layout), accepted by the node.
            let claims = #"{"iss":"authbench","aud":"authbench-api","sub":"writer1","name":"Writer One","role":"writer","iat":\#(now),"exp":\#(now + 120),"jti":"pyjwt.token"}"#
            let signed = try Self.python(["sign", keyFile.path, algorithm.rawValue, key.kid, claims])
            let me = try await client.get("/api/me", bearer: signed)
            #expect(me.status == .ok, "\(String(buffer: me.body))")
            #expect(try me.decoded([String: String].self)["sub"] == "writer1")

            // And PyJWT's token with one claim changed after signing is refused.
            let parts = signed.split(separator: ".").map(String.init)
            let tampered = Base64URL.encode(Array(claims.replacingOccurrences(of: "\"writer\"", with: "\"admin\"").utf8))
            #expect(try await client.get("/api/me", bearer: "\(parts[0]).\(tampered).\(parts[2])").errorCode == "invalid_token")
        }
    }
}
