import Crypto
import Foundation
import JWTKit

/// The algorithms a node can sign access tokens with.
public enum JWTAlgorithmName: String, Sendable, CaseIterable {
    case hs256 = "HS256"
    case es256 = "ES256"
    case edDSA = "EdDSA"
    case rs256 = "RS256"
}

/// One key of the ring: its `kid`, the algorithm it is fixed to, jwt-kit's signer, and
/// its public JWK (nil for HMAC, whose key is secret). A class: every token looks its key up,
/// and a reference costs one retain where this struct's copy cost six.
public final class JWTSigningKey: Sendable {
    public let kid: String
    public let algorithm: JWTAlgorithmName
    let signer: any JWTAlgorithm
    public let publicJWK: [String: String]?
    /// HS256 only: the HMAC keyed with the secret, copied for each token (jwt-kit's signer
    /// gives the same MAC, which the tests hold it to).
    let keyedHMAC: KeyedHMACSHA256?
    /// The base64url header this node puts on tokens signed with this key.
    let encodedHeader: [UInt8]

    init(kid: String, algorithm: JWTAlgorithmName, signer: any JWTAlgorithm, publicJWK: [String: String]?, hmacKey: SymmetricKey?) {
        self.kid = kid
        self.algorithm = algorithm
        self.signer = signer
        self.publicJWK = publicJWK
        self.keyedHMAC = hmacKey.map { key in KeyedHMACSHA256(key: key.withUnsafeBytes { Array($0) }) }
        self.encodedHeader = Array(Base64URL.encode(Array(#"{"alg":"\#(algorithm.rawValue)","typ":"JWT","kid":"\#(kid)"}"#.utf8)).utf8)
    }

    func writesHeader(_ encoded: UnsafeBufferPointer<UInt8>) -> Bool {
        encodedHeader.count == encoded.count && encodedHeader.withUnsafeBytes { memcmp($0.baseAddress!, encoded.baseAddress!, $0.count) == 0 }
    }

    /// True when `signature` is this key's signature of `input`.
    func verifies(_ signature: [UInt8], of input: UnsafeRawBufferPointer) -> Bool {
        if let hmac = keyedHMAC {
            return hmac.authenticationCode(for: input).withUnsafeBytes { constantTimeEqual($0, signature) }
        }
        return (try? signer.verify(signature, signs: input)) == true
    }

    func sign(_ input: [UInt8]) throws -> [UInt8] {
        if let hmac = keyedHMAC {
            return Array(hmac.authenticationCode(for: input))
        }
        return try signer.sign(input)
    }
}

/// True when the bytes are equal; the time taken depends on the lengths only, not on where
/// the bytes differ (a MAC compared this way leaks nothing about the right one).
func constantTimeEqual(_ a: UnsafeRawBufferPointer, _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var difference: UInt8 = 0
    for index in 0..<a.count { difference |= a[index] ^ b[index] }
    return difference == 0
}

public struct JWTKeyError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// The current signing key and the earlier keys that still verify, looked up by `kid`.
/// Built once at start and immutable after, so verifying needs no lock and no actor hop;
/// the cryptography is jwt-kit's.
public struct JWTKeyRing: Sendable {
    public let current: JWTSigningKey
    private let byKID: [String: JWTSigningKey]

    public init(current: JWTSigningKey, previous: [JWTSigningKey] = []) {
        self.current = current
        var byKID: [String: JWTSigningKey] = [:]
        for key in previous { byKID[key.kid] = key }
        byKID[current.kid] = current
        self.byKID = byKID
    }

    public func key(kid: String) -> JWTSigningKey? {
        byKID[kid]
    }

    /// The key whose own header is exactly `encodedHeader`, without decoding it.
    func key(encodedHeader: UnsafeBufferPointer<UInt8>) -> JWTSigningKey? {
        if current.writesHeader(encodedHeader) { return current }
        return byKID.values.first { $0.writesHeader(encodedHeader) }
    }

    public var keys: [JWTSigningKey] { Array(byKID.values).sorted { $0.kid < $1.kid } }

    /// `/.well-known/jwks.json`: the public keys; empty for HMAC.
    public var jwks: [String: [[String: String]]] {
        ["keys": keys.compactMap(\.publicJWK)]
    }

    /// A key from a file's contents: the raw secret for HS256 (at least 32 bytes), a PEM
    /// private key otherwise. The `kid` is derived from the key, so every node that reads
    /// the same file agrees on it.
    public static func loadKey(algorithm: JWTAlgorithmName, contents: [UInt8]) async throws -> JWTSigningKey {
        switch algorithm {
        case .hs256:
            guard contents.count >= 32 else {
                throw JWTKeyError("an HS256 secret must be at least 32 bytes; this one has \(contents.count)")
            }
            return await makeKey(algorithm, material: contents, publicJWK: nil, hmacKey: SymmetricKey(data: contents)) { collection, kid in
                await collection.add(hmac: HMACKey(key: SymmetricKey(data: contents)), digestAlgorithm: .sha256, kid: kid)
            }
        case .es256:
            let key: ES256PrivateKey
            do { key = try ES256PrivateKey(pem: String(decoding: contents, as: UTF8.self)) } catch {
                throw JWTKeyError("not a PEM P-256 private key for ES256: \(error)")
            }
            guard let parameters = key.publicKey.parameters else { throw JWTKeyError("the ES256 key has no public point") }
            let material = Array((parameters.x + parameters.y).utf8)
            return await makeKey(algorithm, material: material, publicJWK: ["kty": "EC", "crv": "P-256", "x": parameters.x, "y": parameters.y]) { collection, kid in
                await collection.add(ecdsa: key, kid: kid)
            }
        case .edDSA:
            let key: EdDSA.PrivateKey
            do { key = try EdDSA.PrivateKey(pem: String(decoding: contents, as: UTF8.self)) } catch {
                throw JWTKeyError("not a PEM Ed25519 private key for EdDSA: \(error)")
            }
            let x = Base64URL.encode(key.publicKey.rawRepresentation)
            return await makeKey(algorithm, material: Array(x.utf8), publicJWK: ["kty": "OKP", "crv": "Ed25519", "x": x]) { collection, kid in
                await collection.add(eddsa: key, kid: kid)
            }
        case .rs256:
            let key: JWTKit.Insecure.RSA.PrivateKey
            do { key = try JWTKit.Insecure.RSA.PrivateKey(pem: String(decoding: contents, as: UTF8.self)) } catch {
                throw JWTKeyError("not a PEM RSA private key for RS256: \(error)")
            }
            let primitives = try key.publicKey.getKeyPrimitives()
            let n = Base64URL.encode(primitives.modulus)
            let e = Base64URL.encode(primitives.publicExponent)
            return await makeKey(algorithm, material: Array((n + e).utf8), publicJWK: ["kty": "RSA", "n": n, "e": e]) { collection, kid in
                await collection.add(rsa: key, digestAlgorithm: .sha256, kid: kid)
            }
        }
    }

    /// A throwaway key for `--dev`; RS256 needs a key file.
    public static func generateKey(algorithm: JWTAlgorithmName) async throws -> JWTSigningKey {
        switch algorithm {
        case .hs256:
            return try await loadKey(algorithm: .hs256, contents: Array(OpaqueSecret.generate().utf8))
        case .es256:
            return try await loadKey(algorithm: .es256, contents: Array(ES256PrivateKey().pemRepresentation.utf8))
        case .edDSA:
            let key = Curve25519.Signing.PrivateKey()
            return try await loadKey(algorithm: .edDSA, contents: Array(key.pemRepresentation.utf8))
        case .rs256:
            throw JWTKeyError("--dev cannot generate an RS256 key; give one with --jwt-key-file")
        }
    }

    private static func makeKey(
        _ algorithm: JWTAlgorithmName,
        material: [UInt8],
        publicJWK: [String: String]?,
        hmacKey: SymmetricKey? = nil,
        add: (JWTKeyCollection, JWKIdentifier) async -> Void
    ) async -> JWTSigningKey {
        let kid = algorithm.rawValue.lowercased() + "-" + String(SHA256.hash(data: material).hexString.prefix(16))
        let collection = JWTKeyCollection()
        await add(collection, JWKIdentifier(string: kid))
        // The key was just added under this kid; jwt-kit hands back its algorithm.
        let signer = try! await collection.getKey(for: JWKIdentifier(string: kid))
        var jwk = publicJWK
        jwk?["kid"] = kid
        jwk?["alg"] = algorithm.rawValue
        jwk?["use"] = "sig"
        return JWTSigningKey(kid: kid, algorithm: algorithm, signer: signer, publicJWK: jwk, hmacKey: hmacKey)
    }
}
