import AuthCore
import AuthNode
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// The attacks of RFC 8725 and OWASP's JWT cheat sheet, each sent to a node as a Bearer token:
/// every one is a 401 with the right code, never a 5xx.
@Suite struct ForgedTokenTests {
    /// Signs `header` and `claims` (JSON text, sent as written) with the node's HS256 secret.
    static func forge(header: String, claims: String, secret: [UInt8] = NodeHarness.secret) -> String {
        let input = Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(claims.utf8))
        let mac = HMAC<SHA256>.authenticationCode(for: Array(input.utf8), using: SymmetricKey(data: secret))
        return input + "." + Base64URL.encode(Array(mac))
    }

    /// The contract's claims for writer1 at `now`, with fields replaced or added as written.
    static func claims(now: Int, _ overrides: [String: String] = [:], without: Set<String> = []) -> String {
        var fields: [(String, String)] = [
            ("iss", #""authbench""#), ("aud", #""authbench-api""#), ("sub", #""writer1""#), ("name", #""Writer One""#),
            ("role", #""writer""#), ("iat", "\(now)"), ("exp", "\(now + 300)"), ("jti", #""fam.forged""#),
        ]
        fields = fields.filter { !without.contains($0.0) }.map { name, value in (name, overrides[name] ?? value) }
        for (name, value) in overrides.sorted(by: { $0.key < $1.key }) where !fields.contains(where: { $0.0 == name }) {
            fields.append((name, value))
        }
        return "{" + fields.map { "\"\($0)\":\($1)" }.joined(separator: ",") + "}"
    }

    @Test func everyForgedOrBrokenTokenIsA401WithItsCode() async throws {
        let node = try await NodeHarness.make(.inMemory)
        let now = Int(try #require(node.clock).now())
        let kid = node.configuration.keyRing.current.kid
        let header = #"{"alg":"HS256","typ":"JWT","kid":"\#(kid)"}"#
        let good = Self.forge(header: header, claims: Self.claims(now: now))
        let parts = good.split(separator: ".").map(String.init)
        let nested = "{\"iss\":\"authbench\",\"x\":" + String(repeating: "[", count: 1200) + String(repeating: "]", count: 1200) + "}"
        let nestedObjects = "{\"iss\":\"authbench\",\"x\":" + String(repeating: "{\"a\":", count: 500) + "1" + String(repeating: "}", count: 500) + "}"

        var cases: [(String, String, String)] = [
            ("wrong iss", Self.forge(header: header, claims: Self.claims(now: now, ["iss": #""someone-else""#])), "invalid_token"),
            ("wrong aud", Self.forge(header: header, claims: Self.claims(now: now, ["aud": #""another-api""#])), "invalid_token"),
            ("missing exp", Self.forge(header: header, claims: Self.claims(now: now, without: ["exp"])), "invalid_token"),
            ("missing sub", Self.forge(header: header, claims: Self.claims(now: now, without: ["sub"])), "invalid_token"),
            ("expired", Self.forge(header: header, claims: Self.claims(now: now, ["iat": "\(now - 400)", "exp": "\(now - 100)"])), "token_expired"),
            ("nbf in the future", Self.forge(header: header, claims: Self.claims(now: now, ["nbf": "\(now + 600)"])), "invalid_token"),
            ("iat in the future", Self.forge(header: header, claims: Self.claims(now: now, ["iat": "\(now + 600)"])), "invalid_token"),
            ("exp not a number", Self.forge(header: header, claims: Self.claims(now: now, ["exp": #""tomorrow""#])), "invalid_token"),
            ("role not a role", Self.forge(header: header, claims: Self.claims(now: now, ["role": #""root""#])), "invalid_token"),
            ("duplicate sub", Self.forge(header: header, claims: Self.claims(now: now).dropLast() + #","sub":"admin1"}"#), "invalid_token"),
            ("duplicate role", Self.forge(header: header, claims: Self.claims(now: now).dropLast() + #","role":"admin"}"#), "invalid_token"),
            // A nested or null member sends the payload past the flat-JSON reader to JSONDecoder,
            // which would keep one of two members silently.
            ("duplicate name beside a null member",
             Self.forge(header: header, claims: Self.claims(now: now, ["x": "null"]).dropLast() + #","name":"Admin"}"#), "invalid_token"),
            ("duplicate role beside a nested member",
             Self.forge(header: header, claims: #"{"role":"admin","x":{"a":[1,{"b":2}]},"# + Self.claims(now: now).dropFirst()), "invalid_token"),
            ("duplicate sub, one escaped, beside a nested member",
             Self.forge(header: header, claims: Self.claims(now: now, ["x": "[]"]).dropLast() + #","sub":"admin1"}"#), "invalid_token"),
            ("header naming alg twice",
             Self.forge(header: #"{"alg":"none","typ":"JWT","kid":"\#(kid)","alg":"HS256"}"#, claims: Self.claims(now: now)), "invalid_token"),
            ("header naming kid twice",
             Self.forge(header: #"{"alg":"HS256","kid":"\#(kid)","typ":"JWT","kid":"\#(kid)"}"#, claims: Self.claims(now: now)), "invalid_token"),
            ("claims an array", Self.forge(header: header, claims: "[1,2,3]"), "invalid_token"),
            ("claims a string", Self.forge(header: header, claims: #""writer1""#), "invalid_token"),
            ("claims a number", Self.forge(header: header, claims: "42"), "invalid_token"),
            ("claims null", Self.forge(header: header, claims: "null"), "invalid_token"),
            ("claims not JSON", Self.forge(header: header, claims: "sub=writer1"), "invalid_token"),
            ("deeply nested arrays", Self.forge(header: header, claims: nested), "invalid_token"),
            ("deeply nested objects", Self.forge(header: header, claims: nestedObjects), "invalid_token"),
            ("crit names an unknown extension",
             Self.forge(header: #"{"alg":"HS256","typ":"JWT","kid":"\#(kid)","crit":["x-policy"],"x-policy":1}"#, claims: Self.claims(now: now)), "invalid_token"),
            ("typ not JWT", Self.forge(header: #"{"alg":"HS256","typ":"JOSE+JSON","kid":"\#(kid)"}"#, claims: Self.claims(now: now)), "invalid_token"),
            ("header not JSON", Self.forge(header: "alg=HS256", claims: Self.claims(now: now)), "invalid_token"),
            ("unknown kid", Self.forge(header: #"{"alg":"HS256","typ":"JWT","kid":"hs256-0000000000000000"}"#, claims: Self.claims(now: now)), "invalid_token"),
            ("no kid", Self.forge(header: #"{"alg":"HS256","typ":"JWT"}"#, claims: Self.claims(now: now)), "invalid_token"),
            ("kid holding a path", Self.forge(header: #"{"alg":"HS256","typ":"JWT","kid":"../../../../dev/null"}"#, claims: Self.claims(now: now)), "invalid_token"),
            ("kid holding SQL", Self.forge(header: #"{"alg":"HS256","typ":"JWT","kid":"x' UNION SELECT 'secret' --"}"#, claims: Self.claims(now: now)), "invalid_token"),
            ("kid not a string", Self.forge(header: #"{"alg":"HS256","typ":"JWT","kid":["\#(kid)"]}"#, claims: Self.claims(now: now)), "invalid_token"),
            ("signed with another secret",
             Self.forge(header: header, claims: Self.claims(now: now), secret: Array("another secret of at least thirty-two bytes".utf8)), "invalid_token"),
            ("tampered payload", parts[0] + "." + Base64URL.encode(Array(Self.claims(now: now, ["role": #""admin""#]).utf8)) + "." + parts[2], "invalid_token"),
            ("signature truncated by one", good.dropLast() + "", "invalid_token"),
            ("signature truncated by four", good.dropLast(4) + "", "invalid_token"),
            ("signature extended", good + "A", "invalid_token"),
            ("signature re-padded", good + "=", "invalid_token"),
            ("signature re-padded twice", good + "==", "invalid_token"),
            ("signature in standard base64", parts[0] + "." + parts[1] + "." + Data(Base64URL.decode(parts[2])!).base64EncodedString(), "invalid_token"),
            ("signature empty", parts[0] + "." + parts[1] + ".", "invalid_token"),
            ("whitespace inside", parts[0] + "." + parts[1] + ". " + parts[2], "invalid_token"),
            ("tab inside", parts[0] + ".\t" + parts[1] + "." + parts[2], "invalid_token"),
            ("percent-encoded", parts[0] + "%2E" + parts[1] + "." + parts[2], "invalid_token"),
            ("non-base64url characters", parts[0] + "." + parts[1] + "." + parts[2].dropLast(2) + "*!", "invalid_token"),
            ("non-ASCII", parts[0] + "." + parts[1] + "é." + parts[2], "invalid_token"),
            ("two parts", parts[0] + "." + parts[1], "invalid_token"),
            ("four parts", good + "." + parts[2], "invalid_token"),
            ("five parts", good + ".e30." + parts[2], "invalid_token"),
            ("over the length cap", Self.forge(header: header, claims: Self.claims(now: now, ["pad": "\"" + String(repeating: "p", count: 3200) + "\""])), "invalid_token"),
            ("far over the length cap, under the 8 KiB header limit", String(repeating: "A", count: 8_000), "invalid_token"),
        ]
        for alg in ["none", "None", "NONE", "nOnE", "NoNe"] {
            let noneHeader = #"{"alg":"\#(alg)","typ":"JWT","kid":"\#(kid)"}"#
            let unsigned = Base64URL.encode(Array(noneHeader.utf8)) + "." + parts[1]
            cases.append(("alg \(alg), no signature", unsigned + ".", "invalid_token"))
            cases.append(("alg \(alg), no signature part", unsigned, "invalid_token"))
            cases.append(("alg \(alg), with the real signature", unsigned + "." + parts[2], "invalid_token"))
            cases.append(("alg \(alg), HMAC-signed", Self.forge(header: noneHeader, claims: Self.claims(now: now)), "invalid_token"))
        }
        for alg in ["HS384", "HS512", "ES256", "RS256", "EdDSA", "hs256"] {
            cases.append(("alg switched to \(alg)", Self.forge(header: #"{"alg":"\#(alg)","typ":"JWT","kid":"\#(kid)"}"#, claims: Self.claims(now: now)), "invalid_token"))
        }

        let attacks = cases
        try await node.test(.router) { client in
            let control = try await client.get("/api/me", bearer: good)
            #expect(control.status == .ok, "the forging helper makes tokens the node accepts, so each refusal below is the attack's")
            // The same paths without a duplicate are accepted: the refusals above are the duplicates'.
            let nestedControl = Self.forge(header: header, claims: Self.claims(now: now, ["x": #"{"a":[1,{"b":2}]}"#]))
            #expect(try await client.get("/api/me", bearer: nestedControl).status == .ok, "a nested member alone")
            let foreignControl = Self.forge(header: #"{"kid":"\#(kid)","typ":"JWT","alg":"HS256"}"#, claims: Self.claims(now: now))
            #expect(try await client.get("/api/me", bearer: foreignControl).status == .ok, "a header in another order")
            for (name, token, code) in attacks {
                let response = try await client.get("/api/me", bearer: token)
                #expect(response.status == .unauthorized, "\(name): \(response.status)")
                #expect(response.errorCode == code, "\(name): \(String(buffer: response.body))")
            }
            #expect(try await client.get("/api/me", bearer: good).status == .ok, "the node still serves after them all")
        }
    }

    /// RFC 8725 2.1: an HS256 token keyed with the node's public key must not pass as its asymmetric key's signature.
    @Test(arguments: [JWTAlgorithmName.es256, .edDSA])
    func anHMACKeyedWithThePublicKeyIsRefused(_ algorithm: JWTAlgorithmName) async throws {
        let privateKey = try await JWTKeyRing.generateKey(algorithm: algorithm)
        let node = try await NodeHarness.make(.inMemory, keyRing: JWTKeyRing(current: privateKey))
        let now = Int(try #require(node.clock).now())
        let jwk = try #require(privateKey.publicJWK)
        let publicForms: [[UInt8]] = [
            Array(try JSONSerialization.data(withJSONObject: jwk, options: [.sortedKeys])),
            Base64URL.decode(jwk["x"]!)! + (jwk["y"].flatMap { Base64URL.decode($0) } ?? []),
            Array(jwk["x"]!.utf8),
        ]
        try await node.test(.router) { client in
            let login = try await client.login("writer1", mode: "jwt").decoded(Login.self)
            #expect(try await client.get("/api/me", bearer: login.access_token).status == .ok)
            for (index, publicKey) in publicForms.enumerated() {
                let token = Self.forge(
                    header: #"{"alg":"HS256","typ":"JWT","kid":"\#(privateKey.kid)"}"#, claims: Self.claims(now: now), secret: publicKey)
                let response = try await client.get("/api/me", bearer: token)
                #expect(response.status == .unauthorized, "public key form \(index)")
                #expect(response.errorCode == "invalid_token", "public key form \(index)")
            }
        }
    }
}
