import AuthCore
import AuthNode
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LoadScenarios
import TestSupport
import Testing

/// docs/api.md, endpoint by endpoint, in-process, on the in-memory twins and on a real Redis.
@Suite struct ContractTests {
    @Test(arguments: BackendKind.available)
    func operationsEndpoints(_ kind: BackendKind) async throws {
        let node = try await NodeHarness.make(kind)
        try await node.test(.router) { client in
            let health = try await client.get("/healthz")
            #expect(health.status == .ok)
            #expect(try health.decoded([String: String].self) == ["status": "ok", "node": "node-1"])
            // Ready once the revocation list is loaded (at once in memory, after SUBSCRIBE on Redis).
            #expect(try await eventually { try await client.get("/readyz").status == .ok })
            let jwks = try await client.get("/.well-known/jwks.json")
            #expect(String(buffer: jwks.body) == #"{"keys":[]}"#)
            let missing = try await client.get("/no/such/route")
            #expect(missing.status == .notFound)
            #expect(missing.errorCode == "not_found")
            _ = try await client.get("/healthz")
            let metrics = String(buffer: try await client.get("/metrics").body)
            #expect(metrics.contains(#"authbench_requests_total{route="/healthz",mode="none",status="200"} 2"#))
            #expect(metrics.contains("authbench_revocation_list_entries"))
            if kind == .redis {
                // The readiness checks above ran PING on Redis; the scenario runner reads this metric.
                #expect(metrics.contains(ScenarioRunner.redisCommandCountMetric + #"{command="PING"}"#), "\(metrics)")
            }
        }
    }

    @Test func metricsCountRequestsByTheirCredential() async throws {
        let node = try await NodeHarness.make(.inMemory)
        try await node.test(.router) { client in
            let token = try await client.login("writer1", mode: "jwt").decoded(Login.self).access_token
            let sid = try #require(try await client.login("writer1", mode: "session").sessionCookie)
            #expect(try await client.get("/api/me", bearer: token).status == .ok)
            #expect(try await client.get("/api/me", session: sid).status == .ok)
            #expect(try await client.get("/api/me", extra: [.cookie: "theme=dark; sid=\(sid)"]).status == .ok)
            #expect(try await client.get("/api/me", extra: [.cookie: "xsid=1"]).status == .unauthorized)
            let metrics = String(buffer: try await client.get("/metrics").body)
            #expect(metrics.contains(#"authbench_requests_total{route="/api/me",mode="jwt",status="200"} 1"#), "\(metrics)")
            #expect(metrics.contains(#"authbench_requests_total{route="/api/me",mode="session",status="200"} 2"#), "\(metrics)")
            #expect(metrics.contains(#"authbench_requests_total{route="/api/me",mode="none",status="401"} 1"#), "\(metrics)")
        }
    }

    /// A user stored at a cheaper bcrypt cost than the node's (seeded for a benchmark) is
    /// rehashed at the node's cost by the first right password, and logs in as before.
    @Test(arguments: BackendKind.available)
    func aWeakerStoredHashIsUpgradedAtLogin(_ kind: BackendKind) async throws {
        let node = try await NodeHarness.make(kind, bcryptCost: 6)
        let weak = try await PasswordHasher(cost: 4).hash(NodeHarness.password)
        try await node.backend.users.save(UserRecord(username: "writer1", name: "Writer One", role: .writer, passwordHash: weak))
        try await node.test(.router) { client in
            #expect(try await client.login("writer1", mode: "jwt", password: "wrong").status == .unauthorized)
            #expect(try await node.backend.users.user(named: "writer1")?.passwordHash == weak, "a wrong password changed the hash")
            #expect(try await client.login("writer1", mode: "jwt").status == .ok)
            let stored = try #require(try await node.backend.users.user(named: "writer1")?.passwordHash)
            #expect(PasswordHasher.cost(of: stored) == 6)
            #expect(try await client.login("writer1", mode: "session").status == .ok)
        }
    }

    @Test(arguments: BackendKind.available)
    func sessionLogin(_ kind: BackendKind) async throws {
        let node = try await NodeHarness.make(kind)
        try await node.test(.router) { client in
            let login = try await client.login("writer1", mode: "session")
            #expect(login.status == .ok)
            let cookie = try #require(login.headers[.setCookie])
            // Kept by the browser for the session's whole absolute lifetime, so sliding on the node
            // never outlives the cookie.
            #expect(cookie.hasSuffix("; Path=/; HttpOnly; SameSite=Lax; Max-Age=\(node.configuration.policy.sessionAbsoluteLifetime)"))
            #expect(node.configuration.policy.sessionAbsoluteLifetime > node.configuration.policy.sessionIdleTimeout)
            let sid = try #require(login.sessionCookie)
            #expect(sid.count == 43)
            let body = try login.decoded([String: AnyDecodable].self)
            #expect(body["mode"]?.string == "session")
            #expect(body["expires_in"]?.int == 1800)

            let me = try await client.get("/api/me", session: sid)
            #expect(me.status == .ok)
            #expect(try me.decoded([String: String].self) == [
                "sub": "writer1", "name": "Writer One", "role": "writer", "auth": "session", "node": "node-1",
            ])

            // A login presenting a valid sid still gets a new id: no session fixation.
            let again = try await client.execute(
                uri: "/auth/login", method: .post, headers: [.cookie: "sid=\(sid)", .contentType: "application/json"],
                body: ByteBuffer(string: #"{"username":"writer1","password":"\#(NodeHarness.password)","mode":"session"}"#))
            #expect(again.status == .ok)
            #expect(again.sessionCookie != sid)
        }
    }

    @Test(arguments: BackendKind.available)
    func jwtLoginIssuesExactlyTheContractClaims(_ kind: BackendKind) async throws {
        let node = try await NodeHarness.make(kind)
        try await node.test(.router) { client in
            let login = try await client.login("reader1", mode: "jwt")
            #expect(login.status == .ok)
            let tokens = try login.decoded(Login.self)
            #expect(tokens.mode == "jwt")
            #expect(tokens.expires_in == 300)
            let access = tokens.access_token
            #expect(tokens.refresh_token.count == 43)
            let parts = access.split(separator: ".")
            #expect(parts.count == 3)
            let headerBytes = try #require(Base64URL.decode(parts[0]))
            let header = try JSONDecoder().decode([String: String].self, from: Data(headerBytes))
            #expect(header["alg"] == "HS256")
            #expect(header["typ"] == "JWT")
            #expect(header["kid"] == node.configuration.keyRing.current.kid)
            let payload = try #require(Base64URL.decode(parts[1]))
            let claims = try #require(JSONSerialization.jsonObject(with: Data(payload)) as? [String: Any])
            #expect(Set(claims.keys) == ["iss", "aud", "sub", "name", "role", "iat", "exp", "jti"])
            #expect(claims["sub"] as? String == "reader1")
            #expect(claims["role"] as? String == "reader")

            let me = try await client.get("/api/me", bearer: access)
            #expect(me.status == .ok)
            #expect(try me.decoded([String: String].self)["auth"] == "jwt")
        }
    }

    @Test(arguments: BackendKind.available)
    func unknownUserAndWrongPasswordLookAlikeAndAreLimited(_ kind: BackendKind) async throws {
        let node = try await NodeHarness.make(kind, loginAttemptLimit: 3)
        try await node.test(.router) { client in
            let unknown = try await client.login("nobody", mode: "jwt")
            let wrong = try await client.login("writer1", mode: "jwt", password: "wrong")
            #expect(unknown.status == .unauthorized)
            #expect(wrong.status == .unauthorized)
            #expect(try unknown.decoded(ErrorBody.self) == wrong.decoded(ErrorBody.self))
            #expect(unknown.errorCode == "invalid_credentials")

            _ = try await client.login("writer1", mode: "jwt", password: "wrong")
            _ = try await client.login("writer1", mode: "jwt", password: "wrong")
            let limited = try await client.login("writer1", mode: "jwt")
            #expect(limited.status == .tooManyRequests)
            #expect(limited.errorCode == "too_many_attempts")
            let retryAfter = try #require(limited.headers[.retryAfter].flatMap { Int($0) })
            #expect((1...300).contains(retryAfter))
            // Another user is not affected.
            #expect(try await client.login("reader1", mode: "jwt").status == .ok)
        }
    }

    /// bcrypt would read a password only up to a NUL and its first 72 bytes; such passwords are
    /// refused, so no two different passwords log in as one.
    @Test(arguments: BackendKind.available)
    func passwordsAreTakenWholeOrRefused(_ kind: BackendKind) async throws {
        let node = try await NodeHarness.make(kind)
        let longest = String(repeating: "p", count: PasswordHasher.maximumPasswordBytes)
        try await node.backend.users.save(UserRecord(
            username: "longest", name: "Longest", role: .reader, passwordHash: try await node.backend.passwordHasher.hash(longest)))
        try await node.test(.router) { client in
            #expect(try await client.login("longest", mode: "jwt", password: longest).status == .ok)
            let refused = [
                ("longest", longest + "anything", "bytes past the 72nd"),
                ("writer1", NodeHarness.password + "\\u0000anything", "a NUL after the right password"),
                ("writer1", "\\u0000", "a lone NUL"),
            ]
            for (username, password, what) in refused {
                let response = try await client.login(username, mode: "jwt", password: password)
                #expect(response.status == .badRequest, "\(what): \(response.status)")
                #expect(response.errorCode == "bad_request", "\(what)")
            }
        }
        #expect(PasswordHasher.problem(with: longest) == nil)
        #expect(PasswordHasher.problem(with: longest + "é") != nil)
        #expect(PasswordHasher.problem(with: "") != nil)
    }

    /// A cross-site form can send a login as text/plain or a form encoding, never as JSON
    /// without a preflight: every `/auth` POST takes only JSON.
    @Test(arguments: BackendKind.available)
    func authPostsTakeOnlyJSON(_ kind: BackendKind) async throws {
        let node = try await NodeHarness.make(kind)
        try await node.test(.router) { client in
            let login = ByteBuffer(string: #"{"username":"writer1","password":"\#(NodeHarness.password)","mode":"session"}"#)
            for contentType in [nil, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/jsonp"] {
                var headers: HTTPFields = [:]
                if let contentType { headers[.contentType] = contentType }
                let response = try await client.execute(uri: "/auth/login", method: .post, headers: headers, body: login)
                #expect(response.status == .unsupportedMediaType, "\(contentType ?? "no Content-Type")")
                #expect(response.errorCode == "unsupported_media_type", "\(contentType ?? "no Content-Type")")
            }
            for contentType in ["application/json", "application/json; charset=utf-8", "Application/JSON ;charset=UTF-8"] {
                let response = try await client.execute(uri: "/auth/login", method: .post, headers: [.contentType: contentType], body: login)
                #expect(response.status == .ok, "\(contentType)")
            }
            let sid = try #require(try await client.login("writer1", mode: "session").sessionCookie)
            for path in ["/auth/logout", "/auth/logout-all"] {
                let response = try await client.execute(uri: path, method: .post, headers: [.cookie: "sid=\(sid)", .contentType: "text/plain"])
                #expect(response.status == .unsupportedMediaType, "\(path)")
            }
            let refresh = try await client.execute(
                uri: "/auth/refresh", method: .post, headers: [.contentType: "text/plain"], body: ByteBuffer(string: #"{"refresh_token":"x"}"#))
            #expect(refresh.status == .unsupportedMediaType)
            #expect(try await client.get("/api/me", session: sid).status == .ok, "the session outlived the cross-site logouts")
        }
    }

    /// Refreshing renews a login's tokens, not the login: the family ends at its absolute
    /// lifetime, and the last tokens say so in `refresh_expires_in`.
    @Test(arguments: BackendKind.available)
    func aLoginKeptAliveByRefreshesEndsAtItsFamilyLifetime(_ kind: BackendKind) async throws {
        // Redis keeps real time: a short family, and waits that a busy machine can only lengthen.
        let familyLifetime = kind == .redis ? 6 : 100
        let node = try await NodeHarness.make(kind, refreshFamilyLifetime: familyLifetime)
        try await node.test(.router) { client in
            let login = try await client.login("writer1", mode: "jwt").decoded(RefreshAnswer.self)
            #expect(login.refresh_expires_in == familyLifetime, "a refresh token no longer than its family: \(login.refresh_expires_in)")
            try await node.advance(by: 1)
            let refreshed = try await client.post("/auth/refresh", json: #"{"refresh_token":"\#(login.refresh_token)"}"#)
            #expect(refreshed.status == .ok, "within the family's lifetime")
            let renewed = try refreshed.decoded(RefreshAnswer.self)
            #expect(renewed.refresh_expires_in < familyLifetime && renewed.refresh_expires_in > 0, "\(renewed.refresh_expires_in)")
            try await node.advance(by: Double(familyLifetime))
            let ended = try await client.post("/auth/refresh", json: #"{"refresh_token":"\#(renewed.refresh_token)"}"#)
            #expect(ended.status == .unauthorized)
            #expect(ended.errorCode == "invalid_grant")
        }
    }

    struct RefreshAnswer: Decodable {
        var refresh_token: String
        var refresh_expires_in: Int
    }

    @Test(arguments: BackendKind.available)
    func malformedRequestsGetJSON4xx(_ kind: BackendKind) async throws {
        let node = try await NodeHarness.make(kind)
        try await node.test(.router) { client in
            let cases: [(String?, HTTPResponse.Status, String)] = [
                ("{not json", .badRequest, "bad_request"),
                (#"{"username":"writer1"}"#, .badRequest, "bad_request"),
                (#"{"username":1,"password":"x","mode":"jwt"}"#, .badRequest, "bad_request"),
                (#"{"username":"","password":"x","mode":"jwt"}"#, .badRequest, "bad_request"),
                (#"{"username":"writer1","password":"x","mode":"saml"}"#, .badRequest, "unsupported_mode"),
                (nil, .badRequest, "bad_request"),
                ("[]", .badRequest, "bad_request"),
                (String(repeating: "x", count: 17 * 1024), .contentTooLarge, "payload_too_large"),
            ]
            for (body, status, code) in cases {
                let response = try await client.post("/auth/login", json: body)
                #expect(response.status == status, "\(body?.prefix(40) ?? "no body")")
                #expect(response.errorCode == code, "\(body?.prefix(40) ?? "no body")")
            }
            let refresh = try await client.post("/auth/refresh", json: #"{"refresh":"x"}"#)
            #expect(refresh.errorCode == "bad_request")

            let hugeHeader = try await client.get("/healthz", extra: [HTTPField.Name("X-Filler")!: String(repeating: "a", count: 9000)])
            #expect(hugeHeader.status == .contentTooLarge)
            #expect(hugeHeader.errorCode == "payload_too_large")
        }
    }

    @Test(arguments: BackendKind.available)
    func credentialsChooseTheModeAndBadOnesAre401(_ kind: BackendKind) async throws {
        let node = try await NodeHarness.make(kind)
        try await node.test(.router) { client in
            let none = try await client.get("/api/me")
            #expect(none.status == .unauthorized)
            #expect(none.errorCode == "missing_credentials")
            #expect(none.headers[.wwwAuthenticate] == "Bearer")

            let token = try await client.login("writer1", mode: "jwt").decoded(Login.self).access_token
            let sid = try #require(try await client.login("writer1", mode: "session").sessionCookie)
            let both = try await client.get("/api/me", bearer: token, session: sid)
            #expect(both.status == .badRequest)
            #expect(both.errorCode == "ambiguous_credentials")

            for bad in ["", "x", "a.b.c", token + "x", String(token.dropLast()), "\(token).x", String(repeating: "A", count: 5000)] {
                let response = try await client.get("/api/me", bearer: bad)
                #expect(response.status == .unauthorized, "\(bad.prefix(30))")
                #expect(response.errorCode == "invalid_token", "\(bad.prefix(30))")
            }
            let basic = try await client.get("/api/me", extra: [.authorization: "Basic dXNlcjpwdw=="])
            #expect(basic.errorCode == "invalid_token")
            for scheme in ["bearer", "BEARER", "bEaReR"] {
                #expect(try await client.get("/api/me", extra: [.authorization: "\(scheme) \(token)"]).status == .ok, "\(scheme)")
            }
            for bad in ["Bearer", "Bearer ", "Bearer\(token)", "Bearer  \(token)", "Bearer\t\(token)", "Beärer \(token)", "Bearer: \(token)"] {
                #expect(try await client.get("/api/me", extra: [.authorization: bad]).errorCode == "invalid_token", "\(bad.prefix(12))")
            }
            // A refresh token never passes as an access token.
            let refresh = try await client.login("writer1", mode: "jwt").decoded(Login.self).refresh_token
            #expect(try await client.get("/api/me", bearer: refresh).errorCode == "invalid_token")

            #expect(try await client.get("/api/me", session: "").status == .unauthorized)
            for bad in ["short", String(repeating: "A", count: 43), sid + "A", "../../etc/passwd"] {
                let response = try await client.get("/api/me", session: bad)
                #expect(response.status == .unauthorized, "\(bad)")
                #expect(response.errorCode == "invalid_session", "\(bad)")
            }
        }
    }

    @Test func expiredAccessTokenIsTokenExpired() async throws {
        let node = try await NodeHarness.make(.inMemory, accessTokenLifetime: 60)
        try await node.test(.router) { client in
            let token = try await client.login("writer1", mode: "jwt").decoded(Login.self).access_token
            try await node.advance(by: 60 + 5 + 1)
            let response = try await client.get("/api/me", bearer: token)
            #expect(response.status == .unauthorized)
            #expect(response.errorCode == "token_expired")
        }
    }

    @Test(arguments: BackendKind.available)
    func refreshRotatesAndReuseRevokesTheFamily(_ kind: BackendKind) async throws {
        let node = try await NodeHarness.make(kind)
        try await node.test(.router) { client in
            let bystander = try await client.login("writer1", mode: "jwt").decoded(Login.self)
            let first = try await client.login("writer1", mode: "jwt").decoded(Login.self)
            let original = first.refresh_token
            let rotated = try await client.post("/auth/refresh", json: #"{"refresh_token":"\#(original)"}"#)
            #expect(rotated.status == .ok)
            let second = try rotated.decoded(Login.self)
            let newest = second.refresh_token
            #expect(newest != original)
            #expect(try await client.get("/api/me", bearer: second.access_token).status == .ok)

            let reuse = try await client.post("/auth/refresh", json: #"{"refresh_token":"\#(original)"}"#)
            #expect(reuse.status == .unauthorized)
            #expect(reuse.errorCode == "invalid_grant")
            // Theft detected: the newest token of the family stops working too, and so do the
            // family's access tokens (pushed like a logout), while another login is untouched.
            let afterTheft = try await client.post("/auth/refresh", json: #"{"refresh_token":"\#(newest)"}"#)
            #expect(afterTheft.errorCode == "invalid_grant")
            #expect(try await client.get("/api/me", bearer: second.access_token).errorCode == "invalid_token")
            #expect(try await client.get("/api/me", bearer: first.access_token).errorCode == "invalid_token")
            #expect(try await client.get("/api/me", bearer: bystander.access_token).status == .ok)

            for bad in ["", "garbage", String(repeating: "A", count: 43)] {
                #expect(try await client.post("/auth/refresh", json: #"{"refresh_token":"\#(bad)"}"#).errorCode == "invalid_grant")
            }
        }
    }

    @Test(arguments: BackendKind.available)
    func articlesAreAuthorizedByRole(_ kind: BackendKind) async throws {
        let node = try await NodeHarness.make(kind)
        try await node.test(.router) { client in
            let reader = try await client.login("reader1", mode: "jwt").decoded(Login.self).access_token
            let writer = try #require(try await client.login("writer1", mode: "session").sessionCookie)

            let read = try await client.get("/api/articles/42", bearer: reader)
            #expect(read.status == .ok)
            #expect(try read.decoded([String: String].self)["id"] == "42")

            let forbidden = try await client.execute(
                uri: "/api/articles/42", method: .put, headers: [.authorization: "Bearer \(reader)"],
                body: ByteBuffer(string: #"{"title":"x"}"#))
            #expect(forbidden.status == .forbidden)
            #expect(forbidden.errorCode == "forbidden")

            let edited = try await client.execute(
                uri: "/api/articles/42", method: .put, headers: [.cookie: "sid=\(writer)"],
                body: ByteBuffer(string: #"{"title":"New","tags":["a",1]}"#))
            #expect(edited.status == .ok)
            #expect(String(buffer: edited.body) == #"{"id":"42","node":"node-1","article":{"title":"New","tags":["a",1]}}"#)

            let notJSON = try await client.execute(
                uri: "/api/articles/42", method: .put, headers: [.cookie: "sid=\(writer)"], body: ByteBuffer(string: "{oops"))
            #expect(notJSON.errorCode == "bad_request")
            // JSON in another encoding, or behind a byte-order mark, would be echoed into a
            // response that is not UTF-8 JSON.
            let utf16 = Array(#"{"title":"x"}"#.utf16).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
            let utf32 = Array(#"{"title":"x"}"#.unicodeScalars).flatMap { [UInt8($0.value & 0xFF), 0, 0, 0] }
            for (name, body) in [("UTF-16LE", [0xFF, 0xFE] + utf16), ("UTF-16LE without a BOM", utf16), ("UTF-32LE", utf32),
                                 ("UTF-8 behind a BOM", [0xEF, 0xBB, 0xBF] + Array(#"{"title":"x"}"#.utf8))] {
                let response = try await client.execute(
                    uri: "/api/articles/42", method: .put, headers: [.cookie: "sid=\(writer)"], body: ByteBuffer(bytes: body))
                #expect(response.status == .badRequest, "\(name): \(response.status)")
                #expect(response.errorCode == "bad_request", "\(name)")
            }
            let tooLarge = try await client.execute(
                uri: "/api/articles/42", method: .put, headers: [.cookie: "sid=\(writer)"],
                body: ByteBuffer(string: "\"" + String(repeating: "x", count: 16 * 1024) + "\""))
            #expect(tooLarge.status == .contentTooLarge)
            #expect(tooLarge.errorCode == "payload_too_large")
        }
    }

    @Test(arguments: BackendKind.available)
    func logoutEndsTheCredential(_ kind: BackendKind) async throws {
        let node = try await NodeHarness.make(kind)
        try await node.test(.router) { client in
            let sid = try #require(try await client.login("writer1", mode: "session").sessionCookie)
            #expect(try await client.post("/auth/logout", session: sid).status == .noContent)
            #expect(try await client.get("/api/me", session: sid).errorCode == "invalid_session")

            let tokens = try await client.login("writer1", mode: "jwt").decoded(Login.self)
            let access = tokens.access_token
            #expect(try await client.post("/auth/logout", bearer: access).status == .noContent)
            #expect(try await client.get("/api/me", bearer: access).errorCode == "invalid_token")
            let refresh = try await client.post("/auth/refresh", json: #"{"refresh_token":"\#(tokens.refresh_token)"}"#)
            #expect(refresh.errorCode == "invalid_grant")
        }
    }

    @Test(arguments: BackendKind.available)
    func logoutAllEndsEverySessionFamilyAndToken(_ kind: BackendKind) async throws {
        let node = try await NodeHarness.make(kind)
        try await node.test(.router) { client in
            let sessions = [
                try #require(try await client.login("writer1", mode: "session").sessionCookie),
                try #require(try await client.login("writer1", mode: "session").sessionCookie),
            ]
            let tokens = [try await client.login("writer1", mode: "jwt").decoded(Login.self),
                          try await client.login("writer1", mode: "jwt").decoded(Login.self)]
            let otherUser = try await client.login("reader1", mode: "jwt").decoded(Login.self).access_token

            #expect(try await client.post("/auth/logout-all", bearer: tokens[0].access_token).status == .noContent)
            for sid in sessions {
                #expect(try await client.get("/api/me", session: sid).errorCode == "invalid_session")
            }
            for token in tokens {
                #expect(try await client.get("/api/me", bearer: token.access_token).errorCode == "invalid_token")
                let refresh = try await client.post("/auth/refresh", json: #"{"refresh_token":"\#(token.refresh_token)"}"#)
                #expect(refresh.errorCode == "invalid_grant")
            }
            #expect(try await client.get("/api/me", bearer: otherUser).status == .ok)
        }
    }

    /// Behind a trusted proxy, failed logins count against the address its X-Forwarded-For
    /// entry names (the last one: what the proxy appended), whatever the username; a right
    /// password takes its attempt back. With every password-check slot taken, 503 at once.
    @Test(arguments: BackendKind.available)
    func loginsAreLimitedPerClientAddressAndRefusedWhenChecksAreFull(_ kind: BackendKind) async throws {
        let node = try await NodeHarness.make(
            kind, loginAddressLimit: 2, passwordCheckConcurrency: 1, passwordCheckQueue: 0, trustForwardedFor: true)
        try await node.test(.router) { client in
            func login(_ username: String, _ password: String, from forwardedFor: String) async throws -> TestResponse {
                try await client.execute(
                    uri: "/auth/login", method: .post,
                    headers: [.contentType: "application/json", HTTPField.Name("X-Forwarded-For")!: forwardedFor],
                    body: ByteBuffer(string: #"{"username":"\#(username)","password":"\#(password)","mode":"jwt"}"#))
            }
            #expect(try await login("ghost1", "guess", from: "203.0.113.5").errorCode == "invalid_credentials")
            #expect(try await login("writer1", NodeHarness.password, from: "203.0.113.5").status == .ok)
            // The client wrote the first entry; the proxy appended the second.
            #expect(try await login("ghost2", "guess", from: "198.51.100.9, 203.0.113.5").errorCode == "invalid_credentials")
            let refused = try await login("reader1", NodeHarness.password, from: "203.0.113.5")
            #expect(refused.status == .tooManyRequests)
            #expect(try refused.decoded(ErrorBody.self).message.contains("address"))
            #expect(refused.headers[.retryAfter] != nil)
            #expect(try await login("reader1", NodeHarness.password, from: "203.0.113.6").status == .ok)

            let latch = Latch()
            let occupant = Task { try await node.backend.authentication.passwordChecks.run { await latch.wait() } }
            #expect(try await eventually { node.backend.authentication.passwordChecks.load.running == 1 })
            let busy = try await login("writer1", NodeHarness.password, from: "192.0.2.1")
            latch.open()
            try await occupant.value
            #expect(busy.status == .serviceUnavailable)
            #expect(busy.errorCode == "login_busy")
            #expect(busy.headers[.retryAfter] == "1")
            #expect(try await login("writer1", NodeHarness.password, from: "192.0.2.1").status == .ok)
        }
    }

    struct SessionLoginBody: Decodable {
        struct User: Decodable { var role: String }
        var user: User
    }

    struct RoleChangeBody: Decodable, Equatable {
        var sub: String
        var role: String
        var sessions: Int
        var token_families: Int
    }

    /// A demotion reaches the user's sessions at their next request, refuses the access tokens
    /// issued before it, and the next refresh carries the new role; only an admin may make it.
    @Test(arguments: BackendKind.available)
    func aRoleChangeReachesSessionsAndTokensAtOnce(_ kind: BackendKind) async throws {
        let node = try await NodeHarness.make(kind)
        let hash = try await node.backend.passwordHasher.hash(NodeHarness.password)
        try await node.backend.users.save(UserRecord(username: "admin1", name: "Admin One", role: .admin, passwordHash: hash))
        try await node.test(.router) { client in
            let admin = try await client.login("admin1", mode: "jwt").decoded(Login.self).access_token
            let sid = try #require(try await client.login("writer1", mode: "session").sessionCookie)
            let tokens = try await client.login("writer1", mode: "jwt").decoded(Login.self)
            let otherUser = try await client.login("reader1", mode: "jwt").decoded(Login.self).access_token
            #expect(try await client.put("/api/articles/1", session: sid, json: "{}").status == .ok)

            let byReader = try await client.put("/admin/users/writer1/role", bearer: otherUser, json: #"{"role":"admin"}"#)
            #expect(byReader.status == .forbidden)
            #expect(byReader.errorCode == "forbidden")
            #expect(try await client.get("/api/me", session: sid).decoded([String: String].self)["role"] == "writer")

            let change = try await client.put("/admin/users/writer1/role", bearer: admin, json: #"{"role":"reader"}"#)
            #expect(change.status == .ok)
            #expect(try change.decoded(RoleChangeBody.self) == RoleChangeBody(sub: "writer1", role: "reader", sessions: 1, token_families: 1))

            // The session carries the new role from its next request.
            #expect(try await client.get("/api/me", session: sid).decoded([String: String].self)["role"] == "reader")
            #expect(try await client.put("/api/articles/1", session: sid, json: "{}").errorCode == "forbidden")
            // The access token issued before is refused; the refresh token goes on, with the new role.
            #expect(try await client.get("/api/me", bearer: tokens.access_token).errorCode == "invalid_token")
            let refreshed = try await client.post("/auth/refresh", json: #"{"refresh_token":"\#(tokens.refresh_token)"}"#)
            #expect(refreshed.status == .ok)
            let renewed = try refreshed.decoded(Login.self)
            #expect(try await client.get("/api/me", bearer: renewed.access_token).decoded([String: String].self)["role"] == "reader")
            // The renewed family is the same login: presenting the spent refresh token again ends it.
            let reuse = try await client.post("/auth/refresh", json: #"{"refresh_token":"\#(tokens.refresh_token)"}"#)
            #expect(reuse.errorCode == "invalid_grant")
            #expect(try await client.get("/api/me", bearer: renewed.access_token).errorCode == "invalid_token")
            let afterTheft = try await client.post("/auth/refresh", json: #"{"refresh_token":"\#(renewed.refresh_token)"}"#)
            #expect(afterTheft.errorCode == "invalid_grant")
            // A new login has the new role; other users are untouched.
            let login = try await client.login("writer1", mode: "session")
            #expect(try login.decoded(SessionLoginBody.self).user.role == "reader")
            #expect(try await client.get("/api/me", bearer: otherUser).status == .ok)

            let unknown = try await client.put("/admin/users/nobody/role", bearer: admin, json: #"{"role":"reader"}"#)
            #expect(unknown.status == .notFound)
            #expect(unknown.errorCode == "unknown_user")
            #expect(try await client.put("/admin/users/writer1/role", bearer: admin, json: #"{"role":"owner"}"#).errorCode == "bad_request")
            #expect(try await client.put("/admin/users/writer1/role", bearer: admin, json: #"{"role":"#).errorCode == "bad_request")
            let asText = try await client.put("/admin/users/writer1/role", bearer: admin, json: #"{"role":"admin"}"#, contentType: "text/plain")
            #expect(asText.status == .unsupportedMediaType)
            let anonymous = try await client.put("/admin/users/writer1/role", json: #"{"role":"admin"}"#)
            #expect(anonymous.errorCode == "missing_credentials")
            #expect(try await node.backend.users.user(named: "writer1")?.claims.role == .reader)
        }
    }

    @Test func sessionsSlideOnUseButNeverPastTheirAbsoluteLifetime() async throws {
        let node = try await NodeHarness.make(.inMemory)
        let idle = Double(node.configuration.policy.sessionIdleTimeout)
        let absolute = Double(node.configuration.policy.sessionAbsoluteLifetime)
        try await node.test(.router) { client in
            // Idle too long: gone.
            let idleSession = try #require(try await client.login("writer1", mode: "session").sessionCookie)
            try await node.advance(by: idle + 1)
            #expect(try await client.get("/api/me", session: idleSession).errorCode == "invalid_session")

            // Used often enough to never idle out, it still ends at its absolute lifetime.
            let busy = try #require(try await client.login("writer1", mode: "session").sessionCookie)
            var elapsed = 0.0
            while elapsed + idle / 2 < absolute {
                try await node.advance(by: idle / 2)
                elapsed += idle / 2
                #expect(try await client.get("/api/me", session: busy).status == .ok, "at \(elapsed) s")
            }
            try await node.advance(by: absolute - elapsed + 1)
            #expect(try await client.get("/api/me", session: busy).errorCode == "invalid_session")
        }
    }

    @Test func withoutPushAnAccessTokenLivesUntilItExpires() async throws {
        let node = try await NodeHarness.make(.inMemory, revocation: .none, accessTokenLifetime: 60)
        try await node.test(.router) { client in
            let tokens = try await client.login("writer1", mode: "jwt").decoded(Login.self)
            let access = tokens.access_token
            #expect(try await client.post("/auth/logout", bearer: access).status == .noContent)
            #expect(try await client.get("/api/me", bearer: access).status == .ok)
            let refresh = try await client.post("/auth/refresh", json: #"{"refresh_token":"\#(tokens.refresh_token)"}"#)
            #expect(refresh.errorCode == "invalid_grant", "the refresh family is revoked all the same")
            try await node.advance(by: 66)
            #expect(try await client.get("/api/me", bearer: access).errorCode == "token_expired")
        }
    }
}

/// Decodes any JSON value, for looking at one field of a mixed object.
struct AnyDecodable: Decodable {
    let value: Any

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let int = try? container.decode(Int.self) {
            value = int
        } else if let string = try? container.decode(String.self) {
            value = string
        } else {
            value = (try? container.decode([String: String].self)) ?? ()
        }
    }

    var string: String? { value as? String }
    var int: Int? { value as? Int }
}
