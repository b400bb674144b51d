import Logging

/// The authentication use cases a node serves, over whichever stores it was given: login,
/// refresh, logout, logout-all, and who a request's credential proves it comes from, with
/// the revocation rules. HTTP is the caller's business: it parses, calls, and maps `Failure`.
public struct Authentication: Sendable {
    public enum Failure: Error, Sendable, Equatable {
        case invalidRequest(String)
        case unsupportedMode
        case tooManyAttempts(retryAfter: Int)
        case tooManyAttemptsFromAddress(retryAfter: Int)
        /// Every password-check slot is taken and the line is full.
        case loginBusy
        case invalidCredentials
        case invalidGrant
        case missingCredentials
        case ambiguousCredentials
        case invalidToken(String)
        case tokenExpired
        case invalidSession
        /// The revocation list may have missed revocations: no access token is trusted until it is current.
        case revocationUnavailable
        case forbidden(String)
        case unknownUser
    }

    /// What a role change reached: the user's live sessions, and the refresh families whose
    /// access tokens were revoked (their logins go on in new families).
    public struct RoleChange: Sendable, Equatable {
        public var sessions: Int
        public var tokenFamilies: Int

        public init(sessions: Int, tokenFamilies: Int) {
            self.sessions = sessions
            self.tokenFamilies = tokenFamilies
        }
    }

    public struct TokenGrant: Sendable {
        public var accessToken: String
        public var expiresIn: Int
        public var refreshToken: String
        public var refreshExpiresIn: Int
    }

    public enum LoginGrant: Sendable {
        /// A new session: its id goes in the cookie, which lives `cookieLifetime` seconds; the
        /// session itself ends after `expiresIn` idle seconds.
        case session(id: String, user: UserClaims, expiresIn: Int, cookieLifetime: Int)
        case tokens(TokenGrant)
    }

    public let policy: AuthPolicy
    let users: any UserStore
    let passwordHasher: PasswordHasher
    let sessions: Sessions
    let refreshTokens: RefreshTokens
    let accessTokens: AccessTokens
    let revocationList: RevocationList
    let revocationStore: any RevocationStore
    let loginAttempts: any LoginAttemptStore
    public let passwordChecks: PasswordCheckGate
    let revocationIsCurrent: @Sendable () -> Bool

    public init(
        policy: AuthPolicy, users: any UserStore, passwordHasher: PasswordHasher, sessions: Sessions, refreshTokens: RefreshTokens,
        accessTokens: AccessTokens, revocationList: RevocationList, revocationStore: any RevocationStore,
        loginAttempts: any LoginAttemptStore, passwordChecks: PasswordCheckGate, revocationIsCurrent: @escaping @Sendable () -> Bool
    ) {
        self.policy = policy
        self.users = users
        self.passwordHasher = passwordHasher
        self.sessions = sessions
        self.refreshTokens = refreshTokens
        self.accessTokens = accessTokens
        self.revocationList = revocationList
        self.revocationStore = revocationStore
        self.loginAttempts = loginAttempts
        self.passwordChecks = passwordChecks
        self.revocationIsCurrent = revocationIsCurrent
    }

    /// Logs `username` in; `clientAddress`, when known, is counted against the per-address
    /// limit of failed logins.
    public func login(username: String, password: String, mode: String, clientAddress: String? = nil) async throws -> LoginGrant {
        if let problem = UserRecord.problem(withUsername: username) ?? PasswordHasher.problem(with: password) {
            throw Failure.invalidRequest(problem)
        }
        guard mode == "session" || mode == "jwt" else { throw Failure.unsupportedMode }
        // Counted before the password is checked, so concurrent guesses get at most the limit of checks.
        let address = policy.loginAddressLimit > 0 ? clientAddress.map(LoginAttemptSubject.address) : nil
        if let address, case .refused(let retryAfter) = try await loginAttempts.reserve(
            address, limit: policy.loginAddressLimit, window: policy.loginAttemptWindow)
        {
            throw Failure.tooManyAttemptsFromAddress(retryAfter: retryAfter)
        }
        let verdict = try await loginAttempts.reserve(.username(username), limit: policy.loginAttemptLimit, window: policy.loginAttemptWindow)
        if case .refused(let retryAfter) = verdict { throw Failure.tooManyAttempts(retryAfter: retryAfter) }
        let user = try await users.user(named: username)
        let verification: PasswordHasher.Verification
        do {
            verification = try await passwordChecks.run { try await passwordHasher.check(password, against: user?.passwordHash) }
        } catch is PasswordCheckGate.Full {
            // Not checked, so not an attempt.
            try await loginAttempts.refund(.username(username))
            if let address { try await loginAttempts.refund(address) }
            throw Failure.loginBusy
        }
        guard case .match(let upgradedHash) = verification, let user else { throw Failure.invalidCredentials }
        try await loginAttempts.reset(.username(username))
        if let address { try await loginAttempts.refund(address) }
        if let upgradedHash {
            try await users.replacePasswordHash(of: user.username, user.passwordHash, with: upgradedHash)
        }
        if mode == "session" {
            let id = try await sessions.start(for: user.claims)
            let claims = try await claimsAfterStarting(user)
            if claims.role != user.claims.role { _ = try await sessions.store.changeRole(uid: claims.sub, to: claims.role) }
            // The cookie lives as long as the session can; the node ends an idle one.
            return .session(id: id, user: claims, expiresIn: policy.sessionIdleTimeout, cookieLifetime: policy.sessionAbsoluteLifetime)
        }
        let refresh = try await refreshTokens.issue(uid: user.claims.sub)
        let access = try accessTokens.issue(for: try await claimsAfterStarting(user), family: refresh.family)
        return .tokens(TokenGrant(
            accessToken: access.token, expiresIn: policy.accessTokenLifetime, refreshToken: refresh.token, refreshExpiresIn: refresh.expiresIn))
    }

    /// The user's claims read again once their session or family exists: a role change that
    /// ran since the password check either saw the new session or family (and changed it) or
    /// is seen here.
    private func claimsAfterStarting(_ user: UserRecord) async throws -> UserClaims {
        try await users.user(named: user.username)?.claims ?? user.claims
    }

    /// Gives `username` the role `role`; only an admin may. The user's sessions carry the new
    /// role from their next request on every node. Every refresh family of the user is renewed
    /// and, with push revocation, the access tokens issued before are refused on every node;
    /// the next refresh issues one with the new role. With no revocation, those access tokens
    /// keep the old role until they expire.
    public func changeRole(of username: String, to role: Role, by identity: Identity) async throws -> RoleChange {
        guard identity.user.role == .admin else { throw Failure.forbidden("only an admin may change a user's role") }
        if let problem = UserRecord.problem(withUsername: username) { throw Failure.invalidRequest(problem) }
        guard try await users.changeRole(of: username, to: role) else { throw Failure.unknownUser }
        let changedSessions = try await sessions.store.changeRole(uid: username, to: role)
        let renewedFamilies = try await refreshTokens.renewAll(uid: username)
        let until = accessTokenRevocationEnd()
        for family in renewedFamilies {
            try await publish(Revocation(.family(family), until: until))
        }
        return RoleChange(sessions: changedSessions, tokenFamilies: renewedFamilies.count)
    }

    public func refresh(_ token: String, logger: Logger) async throws -> TokenGrant {
        switch try await refreshTokens.rotate(token) {
        case .invalid:
            throw Failure.invalidGrant
        case .reuseDetected(let uid, let family):
            logger.notice("refresh token reuse: family revoked", metadata: ["sub": "\(uid)"])
            // Thief or victim, whoever holds the family's access tokens loses them too.
            try await publish(Revocation(.family(family), until: accessTokenRevocationEnd()))
            throw Failure.invalidGrant
        case .rotated(let newToken, let uid, let family, let expiresIn):
            guard let user = try await users.user(named: uid) else {
                try await refreshTokens.revokeFamily(family)
                throw Failure.invalidGrant
            }
            let access = try accessTokens.issue(for: user.claims, family: family)
            return TokenGrant(accessToken: access.token, expiresIn: policy.accessTokenLifetime, refreshToken: newToken, refreshExpiresIn: expiresIn)
        }
    }

    /// Who `credential` proves the request comes from: a Bearer access token verified with the
    /// keys in memory (and, with push revocation, checked against the revocation list), or a
    /// session looked up in its store.
    public func authenticate(_ credential: Credential) async throws -> Identity {
        switch credential {
        case .none: throw Failure.missingCredentials
        case .ambiguous: throw Failure.ambiguousCredentials
        case .authorization(let value): return try identity(authorization: value)
        case .sessionID(let cookie):
            let id = String(cookie)
            guard let session = try await sessions.resume(id: id) else { throw Failure.invalidSession }
            return Identity(user: session.user, proof: .session(id: id))
        }
    }

    private func identity(authorization: String) throws -> Identity {
        guard let token = Self.bearerToken(authorization) else {
            throw Failure.invalidToken("the Authorization header must be 'Bearer <token>'")
        }
        let claims: AccessTokenClaims
        do {
            claims = try accessTokens.verify(token)
        } catch .expired {
            throw Failure.tokenExpired
        } catch .invalid(let reason) {
            throw Failure.invalidToken("the access token is not valid: \(reason)")
        }
        if policy.revocation == .push {
            // A list that may have missed revocations must not vouch for a token.
            guard revocationIsCurrent() else { throw Failure.revocationUnavailable }
            if revocationList.isRevoked(jti: claims.jti) { throw Failure.invalidToken("the access token has been revoked") }
        }
        return Identity(user: claims.user, proof: .accessToken(claims))
    }

    /// The token of `Bearer <token>`, the scheme in any letter case (RFC 9110); nil for
    /// another scheme or an empty token. Compared as bytes: this runs on every JWT request.
    public static func bearerToken(_ authorization: String) -> Substring? {
        let utf8 = authorization.utf8
        let scheme = "bearer".utf8
        guard utf8.count > scheme.count + 1 else { return nil }
        var index = utf8.startIndex
        for expected in scheme {
            let byte = utf8[index]
            guard byte == expected || byte == expected - 0x20 else { return nil }
            index = utf8.index(after: index)
        }
        guard utf8[index] == UInt8(ascii: " ") else { return nil }
        return authorization[utf8.index(after: index)...]
    }

    /// Ends the login `identity` proves: its session, or its refresh family and every access
    /// token issued in it.
    public func logout(_ identity: Identity) async throws {
        switch identity.proof {
        case .session(let id):
            try await sessions.end(id: id, uid: identity.user.sub)
        case .accessToken(let claims):
            let until = claims.exp + Int64(policy.clockLeeway)
            if let family = claims.family {
                try await refreshTokens.revokeFamily(family)
                try await publish(Revocation(.family(family), until: max(accessTokenRevocationEnd(), until)))
            } else {
                try await publish(Revocation(.token(jti: claims.jti), until: until))
            }
        }
    }

    /// Ends every login of the user: sessions, refresh families and their access tokens.
    public func logoutAll(_ identity: Identity) async throws {
        let uid = identity.user.sub
        try await sessions.endAll(uid: uid)
        // Families, not a per-user "not before" time: iat has whole seconds, so a cut-off time
        // would either spare a token refreshed in the same second or kill a new login in it.
        let families = try await refreshTokens.revokeAll(uid: uid)
        let until = accessTokenRevocationEnd()
        for family in families {
            try await publish(Revocation(.family(family), until: until))
        }
        if case .accessToken(let claims) = identity.proof, let family = claims.family, !families.contains(family) {
            try await publish(Revocation(.family(family), until: until))
        }
    }

    /// When every access token issued until now has expired (leeway included): how long a revocation is kept.
    private func accessTokenRevocationEnd() -> Int64 {
        Int64(accessTokens.clock.now()) + Int64(policy.accessTokenLifetime + 2 * policy.clockLeeway)
    }

    /// With push revocation the node applies it at once and tells the others; with none,
    /// access tokens run until they expire.
    private func publish(_ revocation: Revocation) async throws {
        guard policy.revocation == .push else { return }
        revocationList.apply(revocation)
        try await revocationStore.publish(revocation)
    }
}
