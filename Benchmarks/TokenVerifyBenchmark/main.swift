import ArgumentParser
import AuthCore
import Crypto
import Foundation
import JWTKit

/// The cost of verifying one access token, as the node does it (`AccessTokens.verify`), per
/// algorithm, next to jwt-kit's `JWTKeyCollection.verify` of the same token with the same key:
/// the per-request work `scripts/bench-node` measures through HTTP, without wrk, the kernel and
/// the machine's neighbours in the figure.
@main
struct TokenVerifyBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token-verify-benchmark",
        abstract: "Measures access-token verification per algorithm, next to jwt-kit's."
    )

    @Option(help: "Comma-separated algorithms: HS256, ES256, EdDSA.")
    var algorithms: String = "HS256,ES256,EdDSA"

    @Option(help: "Seconds per round (verifications run in batches of 100 until it has passed).")
    var roundSeconds: Double = 0.5

    @Option(help: "Rounds; each line gives the best and the median round.")
    var rounds: Int = 5

    mutating func validate() throws {
        guard (0.05...60).contains(roundSeconds) else { throw ValidationError("--round-seconds must be 0.05 to 60") }
        guard (1...100).contains(rounds) else { throw ValidationError("--rounds must be 1 to 100") }
        for name in algorithms.split(separator: ",") where selectedAlgorithm(String(name)) == nil {
            throw ValidationError("unknown algorithm '\(name)' (use HS256, ES256, EdDSA)")
        }
    }

    /// RS256 needs a key file, which a benchmark of generated keys does not have.
    private func selectedAlgorithm(_ name: String) -> JWTAlgorithmName? {
        JWTAlgorithmName(rawValue: name).flatMap { $0 == .rs256 ? nil : $0 }
    }

    func run() async throws {
        print("verifications of one access token, rounds of \(roundSeconds) s, best and median of \(rounds) round\(rounds == 1 ? "" : "s")")
        print("algorithm  verifier                    best ns   median ns")
        for algorithm in algorithms.split(separator: ",").compactMap({ selectedAlgorithm(String($0)) }) {
            let (key, collection) = try await keys(algorithm)
            let tokens = AccessTokens(
                keyRing: JWTKeyRing(current: key), issuer: "authbench", audience: "authbench-api", lifetime: 3600, leeway: 5,
                clock: SystemClock())
            let user = UserClaims(sub: "user1", name: "User 1", role: .writer)
            let (token, claims) = try tokens.issue(for: user, family: OpaqueSecret.generate().prefix(22).description)

            guard try tokens.verify(token) == claims else { throw BenchmarkFailure("AccessTokens.verify gave other claims") }
            guard try await collection.verify(token, as: JWTKitClaims.self).claims == claims else {
                throw BenchmarkFailure("jwt-kit gave other claims")
            }
            // Each call's `exp` is summed and checked after the round, so no call can be dropped.
            let own = try measure(expecting: claims.exp) { try tokens.verify(token).exp }
            report(algorithm, "AccessTokens.verify", own)
            let jwtKit = try await measure(expecting: claims.exp) { try await collection.verify(token, as: JWTKitClaims.self).claims.exp }
            report(algorithm, "JWTKeyCollection.verify", jwtKit)
        }
    }

    /// One new key, as the node loads it and as a jwt-kit collection holds it.
    private func keys(_ algorithm: JWTAlgorithmName) async throws -> (JWTSigningKey, JWTKeyCollection) {
        let collection = JWTKeyCollection()
        switch algorithm {
        case .hs256:
            let secret = Array(OpaqueSecret.generate().utf8)
            let key = try await JWTKeyRing.loadKey(algorithm: .hs256, contents: secret)
            await collection.add(hmac: HMACKey(key: SymmetricKey(data: secret)), digestAlgorithm: .sha256, kid: JWKIdentifier(string: key.kid))
            return (key, collection)
        case .es256:
            let privateKey = ES256PrivateKey()
            let key = try await JWTKeyRing.loadKey(algorithm: .es256, contents: Array(privateKey.pemRepresentation.utf8))
            await collection.add(ecdsa: privateKey, kid: JWKIdentifier(string: key.kid))
            return (key, collection)
        case .edDSA:
            let pem = Curve25519.Signing.PrivateKey().pemRepresentation
            let key = try await JWTKeyRing.loadKey(algorithm: .edDSA, contents: Array(pem.utf8))
            await collection.add(eddsa: try EdDSA.PrivateKey(pem: pem), kid: JWKIdentifier(string: key.kid))
            return (key, collection)
        case .rs256:
            preconditionFailure("validate() refuses RS256")
        }
    }

    private func report(_ algorithm: JWTAlgorithmName, _ verifier: String, _ nanoseconds: [Double]) {
        let sorted = nanoseconds.sorted()
        let line = algorithm.rawValue.padding(toLength: 11, withPad: " ", startingAt: 0)
            + verifier.padding(toLength: 24, withPad: " ", startingAt: 0)
            + String(format: "%10.0f  %10.0f", sorted[0], sorted[sorted.count / 2])
        print(line)
    }

    /// Nanoseconds per call, one figure per round.
    private func measure(expecting exp: Int64, _ verify: () throws -> Int64) throws -> [Double] {
        try (0..<rounds).map { _ in
            var round = Round()
            repeat {
                for _ in 0..<100 { round.sum &+= try verify() }
                round.calls += 100
            } while round.seconds < roundSeconds
            return try round.nanosecondsPerCall(expecting: exp)
        }
    }

    /// The same for an async verifier; a sync verifier called through this would pay an async
    /// call per verification.
    private func measure(expecting exp: Int64, _ verify: () async throws -> Int64) async throws -> [Double] {
        var figures: [Double] = []
        for _ in 0..<rounds {
            var round = Round()
            repeat {
                for _ in 0..<100 { round.sum &+= try await verify() }
                round.calls += 100
            } while round.seconds < roundSeconds
            figures.append(try round.nanosecondsPerCall(expecting: exp))
        }
        return figures
    }
}

/// One round's clock, calls and the sum of the `exp` each call returned.
struct Round {
    let start = ContinuousClock.now
    var calls = 0
    var sum: Int64 = 0

    var seconds: Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    /// Also checks that every call returned `exp`, so none was dropped or went wrong.
    func nanosecondsPerCall(expecting exp: Int64) throws -> Double {
        let nanoseconds = seconds * 1e9 / Double(calls)
        guard sum == exp &* Int64(calls) else { throw BenchmarkFailure("a verification returned another exp") }
        return nanoseconds
    }
}

struct BenchmarkFailure: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}

/// The node's claims as jwt-kit decodes them, with jwt-kit's own expiry check.
struct JWTKitClaims: JWTPayload {
    var claims: AccessTokenClaims

    init(from decoder: any Decoder) throws {
        claims = try AccessTokenClaims(from: decoder)
    }

    func encode(to encoder: any Encoder) throws {
        try claims.encode(to: encoder)
    }

    func verify(using algorithm: some JWTAlgorithm) throws {
        try ExpirationClaim(value: Date(timeIntervalSince1970: TimeInterval(claims.exp))).verifyNotExpired()
    }
}
