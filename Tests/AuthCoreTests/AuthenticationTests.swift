import AuthCore
import Logging
import Synchronization
import TestSupport
import Testing

/// The use cases without HTTP, on the in-memory stores and a clock the test moves.
@Suite struct AuthenticationTests {
    static let password = "correct horse battery staple"

    /// The use cases over fresh stores; the returned flag is what `revocationIsCurrent` reads,
    /// so a test can make the revocation list stale.
    static func make(
        revocation: RevocationMode = .push, accessTokenLifetime: Int = 300, users: any UserStore = InMemoryUserStore()
    ) async throws -> (Authentication, ManualClock, CurrentFlag) {
        let clock = ManualClock()
        let hasher = PasswordHasher(cost: 4)
        try await users.save(UserRecord(username: "writer1", name: "Writer One", role: .writer, passwordHash: try await hasher.hash(password)))
        let keyRing = JWTKeyRing(current: try await JWTKeyRing.loadKey(algorithm: .hs256, contents: Array("a test secret of at least thirty-two bytes!".utf8)))
        let policy = AuthPolicy(
            accessTokenLifetime: accessTokenLifetime, refreshTokenLifetime: 86_400, refreshFamilyLifetime: 2_592_000, clockLeeway: 5,
            sessionIdleTimeout: 1_800, sessionAbsoluteLifetime: 43_200, loginAttemptLimit: 3, loginAttemptWindow: 300,
            loginAddressLimit: 4, revocation: revocation, revocationMaxStaleness: .seconds(5))
        let revocationList = RevocationList(clock: clock)
        let store = InMemoryRevocationStore()
        store.register(revocationList)
        let current = CurrentFlag()
        let authentication = Authentication(
            policy: policy, users: users, passwordHasher: hasher,
            sessions: Sessions(store: InMemorySessionStore(clock: clock), clock: clock, idleTimeout: 1_800, absoluteLifetime: 43_200),
            refreshTokens: RefreshTokens(store: InMemoryRefreshTokenStore(clock: clock), lifetime: policy.refreshTokenLifetime, familyLifetime: policy.refreshFamilyLifetime),
            accessTokens: AccessTokens(keyRing: keyRing, issuer: "authbench", audience: "authbench-api", lifetime: accessTokenLifetime, leeway: 5, clock: clock),
            revocationList: revocationList, revocationStore: store, loginAttempts: InMemoryLoginAttemptStore(clock: clock),
            passwordChecks: PasswordCheckGate(concurrent: 1, waiting: 0),
            revocationIsCurrent: { current.value })
        return (authentication, clock, current)
    }

    final class CurrentFlag: Sendable {
        private let state = Mutex(true)
        var value: Bool { state.withLock { $0 } }
        func set(_ value: Bool) { state.withLock { $0 = value } }
    }

    static func tokens(_ grant: Authentication.LoginGrant) throws -> Authentication.TokenGrant {
        guard case .tokens(let tokens) = grant else { throw Authentication.Failure.invalidGrant }
        return tokens
    }

    @Test func aCredentialIsRequiredAndOnlyOne() async throws {
        let (authentication, _, _) = try await Self.make()
        await #expect(throws: Authentication.Failure.missingCredentials) { try await authentication.authenticate(.none) }
        await #expect(throws: Authentication.Failure.ambiguousCredentials) { try await authentication.authenticate(.ambiguous) }
        await #expect(throws: Authentication.Failure.invalidToken("the Authorization header must be 'Bearer <token>'")) {
            try await authentication.authenticate(.authorization("Basic d3JpdGVyMTpwdw=="))
        }
        await #expect(throws: Authentication.Failure.invalidSession) { try await authentication.authenticate(.sessionID("no-such-session")) }
    }

    @Test func bothModesLogInAndProveTheSameUser() async throws {
        let (authentication, _, _) = try await Self.make()
        let tokens = try Self.tokens(try await authentication.login(username: "writer1", password: Self.password, mode: "jwt"))
        let byToken = try await authentication.authenticate(.authorization("Bearer " + tokens.accessToken))
        guard case .session(let id, _, let expiresIn, let cookieLifetime) = try await authentication.login(username: "writer1", password: Self.password, mode: "session") else {
            Issue.record("a session login gave tokens")
            return
        }
        #expect(expiresIn == 1_800 && cookieLifetime == 43_200)
        let bySession = try await authentication.authenticate(.sessionID(Substring(id)))
        #expect(byToken.user == bySession.user && byToken.user.role == .writer)
        #expect(byToken.mode == "jwt" && bySession.mode == "session")
    }

    @Test func wrongPasswordsAreLimitedAndCountedBeforeTheCheck() async throws {
        let (authentication, _, _) = try await Self.make()
        for _ in 0..<3 {
            await #expect(throws: Authentication.Failure.invalidCredentials) {
                try await authentication.login(username: "writer1", password: "wrong", mode: "jwt")
            }
        }
        await #expect(throws: Authentication.Failure.tooManyAttempts(retryAfter: 300)) {
            try await authentication.login(username: "writer1", password: Self.password, mode: "jwt")
        }
        await #expect(throws: Authentication.Failure.invalidRequest("the password must not contain a NUL character")) {
            try await authentication.login(username: "writer1", password: "a\u{0}b", mode: "jwt")
        }
        await #expect(throws: Authentication.Failure.unsupportedMode) {
            try await authentication.login(username: "writer1", password: Self.password, mode: "basic")
        }
    }

    @Test func logoutRevokesTheTokensFamilyAndAStaleListTrustsNoToken() async throws {
        let (authentication, _, current) = try await Self.make()
        let first = try Self.tokens(try await authentication.login(username: "writer1", password: Self.password, mode: "jwt"))
        let renewed = try await authentication.refresh(first.refreshToken, logger: Logger(label: "test"))
        let identity = try await authentication.authenticate(.authorization("Bearer " + renewed.accessToken))

        current.set(false)
        await #expect(throws: Authentication.Failure.revocationUnavailable) {
            try await authentication.authenticate(.authorization("Bearer " + renewed.accessToken))
        }
        current.set(true)

        try await authentication.logout(identity)
        for token in [first.accessToken, renewed.accessToken] {
            await #expect(throws: Authentication.Failure.invalidToken("the access token has been revoked")) {
                try await authentication.authenticate(.authorization("Bearer " + token))
            }
        }
        await #expect(throws: Authentication.Failure.invalidGrant) {
            try await authentication.refresh(renewed.refreshToken, logger: Logger(label: "test"))
        }
    }

    @Test func withoutPushATokenOutlivesLogoutUntilItExpires() async throws {
        let (authentication, clock, _) = try await Self.make(revocation: .none, accessTokenLifetime: 60)
        let tokens = try Self.tokens(try await authentication.login(username: "writer1", password: Self.password, mode: "jwt"))
        let identity = try await authentication.authenticate(.authorization("Bearer " + tokens.accessToken))
        try await authentication.logout(identity)
        _ = try await authentication.authenticate(.authorization("Bearer " + tokens.accessToken))
        clock.advance(by: 66)
        await #expect(throws: Authentication.Failure.tokenExpired) {
            try await authentication.authenticate(.authorization("Bearer " + tokens.accessToken))
        }
    }

    static let admin = Identity(user: UserClaims(sub: "admin1", name: "Admin One", role: .admin), proof: .session(id: "x"))

    @Test func onlyAnAdminChangesRolesAndOnlyOfUsersThatExist() async throws {
        let (authentication, _, _) = try await Self.make()
        let writer = try await authentication.authenticate(.authorization(
            "Bearer " + Self.tokens(try await authentication.login(username: "writer1", password: Self.password, mode: "jwt")).accessToken))
        await #expect(throws: Authentication.Failure.forbidden("only an admin may change a user's role")) {
            try await authentication.changeRole(of: "writer1", to: .admin, by: writer)
        }
        await #expect(throws: Authentication.Failure.unknownUser) { try await authentication.changeRole(of: "nobody", to: .reader, by: Self.admin) }
        let change = try await authentication.changeRole(of: "writer1", to: .reader, by: Self.admin)
        #expect(change == Authentication.RoleChange(sessions: 0, tokenFamilies: 1))
    }

    /// With no revocation, an access token keeps the role it was issued with until it expires;
    /// the next refresh carries the new one.
    @Test func withoutPushATokenKeepsItsRoleUntilRefreshed() async throws {
        let (authentication, _, _) = try await Self.make(revocation: .none)
        let tokens = try Self.tokens(try await authentication.login(username: "writer1", password: Self.password, mode: "jwt"))
        _ = try await authentication.changeRole(of: "writer1", to: .reader, by: Self.admin)
        #expect(try await authentication.authenticate(.authorization("Bearer " + tokens.accessToken)).user.role == .writer)
        let renewed = try await authentication.refresh(tokens.refreshToken, logger: Logger(label: "test"))
        #expect(try await authentication.authenticate(.authorization("Bearer " + renewed.accessToken)).user.role == .reader)
    }

    /// A role change that lands between a login's password check and the start of its session
    /// or family (so the change's own pass over the user's sessions and families misses them)
    /// still reaches the login: it reads the role again once they exist.
    @Test(arguments: ["session", "jwt"])
    func aRoleChangeDuringALoginReachesIt(_ mode: String) async throws {
        let users = RoleChangingUserStore()
        let (authentication, _, _) = try await Self.make(users: users)
        users.demoteAfterNextRead()
        let grant = try await authentication.login(username: "writer1", password: Self.password, mode: mode)
        let credential: Credential
        switch grant {
        case .session(let id, let user, _, _):
            #expect(user.role == .reader)
            credential = .sessionID(Substring(id))
        case .tokens(let tokens):
            credential = .authorization("Bearer " + tokens.accessToken)
        }
        #expect(try await authentication.authenticate(credential).user.role == .reader)
    }

    /// Returns a user as stored, then demotes them when armed: a role change committed just
    /// after the read.
    final class RoleChangingUserStore: UserStore {
        private let stored = InMemoryUserStore()
        private let armed = Mutex(false)

        func demoteAfterNextRead() { armed.withLock { $0 = true } }

        func user(named username: String) async throws -> UserRecord? {
            let user = try await stored.user(named: username)
            if armed.withLock({ armed in defer { armed = false }; return armed }) {
                _ = try await stored.changeRole(of: username, to: .reader)
            }
            return user
        }

        func save(_ user: UserRecord) async throws { try await stored.save(user) }
        func replacePasswordHash(of username: String, _ old: String, with new: String) async throws {
            try await stored.replacePasswordHash(of: username, old, with: new)
        }
        func changeRole(of username: String, to role: Role) async throws -> Bool { try await stored.changeRole(of: username, to: role) }
    }

    /// Failed logins count against the client's address whatever the username (spraying); a
    /// right password takes its attempt back, so users behind one address are not locked out
    /// by each other's successes.
    @Test func failedLoginsFromOneAddressAreLimitedAcrossUsernames() async throws {
        let (authentication, _, _) = try await Self.make()
        for guess in 1...3 {
            await #expect(throws: Authentication.Failure.invalidCredentials) {
                try await authentication.login(username: "nobody\(guess)", password: "guess", mode: "jwt", clientAddress: "192.0.2.7")
            }
        }
        // A right password neither counts nor is refused.
        for _ in 1...3 { _ = try await authentication.login(username: "writer1", password: Self.password, mode: "jwt", clientAddress: "192.0.2.7") }
        await #expect(throws: Authentication.Failure.invalidCredentials) {
            try await authentication.login(username: "nobody4", password: "guess", mode: "jwt", clientAddress: "192.0.2.7")
        }
        await #expect(throws: Authentication.Failure.tooManyAttemptsFromAddress(retryAfter: 300)) {
            try await authentication.login(username: "writer1", password: Self.password, mode: "jwt", clientAddress: "192.0.2.7")
        }
        _ = try await authentication.login(username: "writer1", password: Self.password, mode: "jwt", clientAddress: "198.51.100.1")
        _ = try await authentication.login(username: "writer1", password: Self.password, mode: "jwt")
    }

    /// With every password-check slot taken and no room in line, a login is refused at once and
    /// costs no attempt.
    @Test func aLoginFindingTheGateFullIsRefusedAndNotCounted() async throws {
        let (authentication, _, _) = try await Self.make()
        let latch = Latch()
        let occupant = Task { try await authentication.passwordChecks.run { await latch.wait() } }
        let occupied = try await eventually { authentication.passwordChecks.load.running == 1 }
        #expect(occupied)
        for _ in 1...5 {
            await #expect(throws: Authentication.Failure.loginBusy) {
                try await authentication.login(username: "writer1", password: "wrong", mode: "jwt", clientAddress: "192.0.2.9")
            }
        }
        latch.open()
        try await occupant.value
        _ = try await authentication.login(username: "writer1", password: Self.password, mode: "session", clientAddress: "192.0.2.9")
    }
}
