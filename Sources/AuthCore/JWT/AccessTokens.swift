import Foundation
import JWTKit

/// The claims of an access token, exactly those of docs/api.md; `nbf` is accepted on input only.
public struct AccessTokenClaims: Codable, Sendable, Hashable {
    public var iss: String
    public var aud: String
    public var sub: String
    public var name: String
    public var role: Role
    public var iat: Int64
    public var exp: Int64
    public var jti: String
    public var nbf: Int64?

    public var user: UserClaims { UserClaims(sub: sub, name: name, role: role) }

    /// The claims of a token's payload: the flat-JSON fast path, `JSONDecoder` for payloads
    /// it leaves alone; nil when they are not JSON, name a claim twice, or lack one.
    static func decode(_ payload: [UInt8]) -> AccessTokenClaims? {
        var members = Members()
        do {
            if try FlatJSON.parse(payload, into: &members) { return AccessTokenClaims(members) }
        } catch {
            return nil
        }
        guard JSONMemberNames.areUnique(payload) else { return nil }
        return try? JSONDecoder().decode(AccessTokenClaims.self, from: Data(payload))
    }

    /// A payload's members: docs/api.md's claims matched by their bytes and kept as their types (no
    /// String per name, no lookups by name); any other member kept only so that naming it twice
    /// is refused too. A claim of the wrong type ends the parse as a duplicate does.
    private struct Members: FlatJSON.Members {
        enum Name { case iss, aud, sub, name, role, iat, exp, jti, nbf, other(String) }

        var iss, sub, name, jti: String?
        var aud: FlatJSON.Value?
        var role: Role?
        var iat, exp, nbf: Int64?
        var others = FlatJSON.Object()

        func name(_ utf8: UnsafeBufferPointer<UInt8>) -> Name {
            func `is`(_ claim: StaticString) -> Bool {
                memcmp(utf8.baseAddress!, claim.utf8Start, claim.utf8CodeUnitCount) == 0
            }
            switch utf8.count {
            case 3:
                if `is`("iss") { return .iss }
                if `is`("aud") { return .aud }
                if `is`("sub") { return .sub }
                if `is`("iat") { return .iat }
                if `is`("exp") { return .exp }
                if `is`("jti") { return .jti }
                if `is`("nbf") { return .nbf }
            case 4:
                if `is`("name") { return .name }
                if `is`("role") { return .role }
            default:
                break
            }
            return .other(String(decoding: utf8, as: UTF8.self))
        }

        mutating func add(_ name: Name, _ value: FlatJSON.Value) -> Bool {
            func fill<Claim>(_ slot: inout Claim?, _ claim: Claim?) -> Bool {
                guard slot == nil, let claim else { return false }
                slot = claim
                return true
            }
            switch name {
            case .iss: return fill(&iss, value.string)
            case .aud:
                if case .number = value { return false }
                return fill(&aud, value)
            case .sub: return fill(&sub, value.string)
            case .name: return fill(&self.name, value.string)
            case .role: return fill(&role, value.string.flatMap(Role.init(rawValue:)))
            case .iat: return fill(&iat, value.integer)
            case .exp: return fill(&exp, value.integer)
            case .jti: return fill(&jti, value.string)
            case .nbf: return fill(&nbf, value.integer)
            case .other(let name): return others.add(name, value)
            }
        }
    }

    /// Takes the claims out of `members` rather than copying them: copies of the Strings and of
    /// the audience were most of this initializer's cost (8% of a verification).
    private init?(_ members: consuming Members) {
        guard let iss = members.iss.take(), let sub = members.sub.take(), let name = members.name.take(),
            let role = members.role, let iat = members.iat, let exp = members.exp, let jti = members.jti.take()
        else { return nil }
        switch members.aud.take() {
        case .string(let single):
            aud = single
        case .strings(let many):
            aud = many.first ?? ""
            audiences = many
        default:
            return nil
        }
        nbf = members.nbf
        self.iss = iss
        self.sub = sub
        self.name = name
        self.role = role
        self.iat = iat
        self.exp = exp
        self.jti = jti
    }

    /// The refresh family this token was issued with (its `jti` is `<family>.<random>`).
    public var family: String? {
        jti.firstIndex(of: ".").map { String(jti[..<$0]) }
    }

    enum CodingKeys: String, CodingKey {
        case iss, aud, sub, name, role, iat, exp, jti, nbf
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        iss = try container.decode(String.self, forKey: .iss)
        // RFC 7519 allows an array of audiences; this node accepts one that contains its own.
        if let single = try? container.decode(String.self, forKey: .aud) {
            aud = single
        } else {
            let many = try container.decode([String].self, forKey: .aud)
            aud = many.first ?? ""
            audiences = many
        }
        sub = try container.decode(String.self, forKey: .sub)
        name = try container.decode(String.self, forKey: .name)
        role = try container.decode(Role.self, forKey: .role)
        iat = try Self.numericDate(container, .iat)
        exp = try Self.numericDate(container, .exp)
        jti = try container.decode(String.self, forKey: .jti)
        nbf = try container.contains(.nbf) ? Self.numericDate(container, .nbf) : nil
    }

    public init(iss: String, aud: String, user: UserClaims, iat: Int64, exp: Int64, jti: String) {
        self.iss = iss
        self.aud = aud
        self.sub = user.sub
        self.name = user.name
        self.role = user.role
        self.iat = iat
        self.exp = exp
        self.jti = jti
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(iss, forKey: .iss)
        try container.encode(aud, forKey: .aud)
        try container.encode(sub, forKey: .sub)
        try container.encode(name, forKey: .name)
        try container.encode(role, forKey: .role)
        try container.encode(iat, forKey: .iat)
        try container.encode(exp, forKey: .exp)
        try container.encode(jti, forKey: .jti)
        try container.encodeIfPresent(nbf, forKey: .nbf)
    }

    private var audiences: [String]?

    func hasAudience(_ audience: String) -> Bool {
        audiences?.contains(audience) ?? (aud == audience)
    }

    /// NumericDate may carry a fraction (RFC 7519); it is truncated to whole seconds.
    private static func numericDate(_ container: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys) throws -> Int64 {
        let value = try container.decode(Double.self, forKey: key)
        guard value.isFinite, abs(value) < 1e15 else {
            throw DecodingError.dataCorruptedError(forKey: key, in: container, debugDescription: "not a NumericDate")
        }
        return Int64(value)
    }
}

/// Why an access token was refused; each maps to one API error code.
public enum AccessTokenError: Error, Sendable, Hashable {
    /// `invalid_token`: malformed, badly signed, wrong issuer or audience, not yet valid, revoked.
    case invalid(String)
    /// `token_expired`.
    case expired
}

/// Issues and verifies access tokens: compact JWS, header `{"alg","typ":"JWT","kid"}`.
/// The key, and with it the algorithm, is chosen by `kid`; the header's `alg` must equal
/// that key's algorithm, so `none` or a switched algorithm never verifies.
public struct AccessTokens: Sendable {
    public let keyRing: JWTKeyRing
    public let issuer: String
    public let audience: String
    public let lifetime: Int
    public let leeway: Int
    public let clock: any AuthClock
    /// Tokens longer than this are refused before any decoding.
    public let maximumLength: Int

    public init(
        keyRing: JWTKeyRing,
        issuer: String,
        audience: String,
        lifetime: Int,
        leeway: Int,
        clock: any AuthClock,
        maximumLength: Int = 4096
    ) {
        self.keyRing = keyRing
        self.issuer = issuer
        self.audience = audience
        self.lifetime = lifetime
        self.leeway = leeway
        self.clock = clock
        self.maximumLength = maximumLength
    }

    public func issue(for user: UserClaims, family: String) throws -> (token: String, claims: AccessTokenClaims) {
        let now = Int64(clock.now())
        let jti = family + "." + String(OpaqueSecret.generate().prefix(16))
        let claims = AccessTokenClaims(iss: issuer, aud: audience, user: user, iat: now, exp: now + Int64(lifetime), jti: jti)
        let key = keyRing.current
        let payload = try JSONEncoder().encode(claims)
        let signingInput = String(decoding: key.encodedHeader, as: UTF8.self) + "." + Base64URL.encode(payload)
        let signature = try key.sign(Array(signingInput.utf8))
        return (signingInput + "." + Base64URL.encode(signature), claims)
    }

    private struct Header: Decodable {
        var alg: String
        var kid: String?
        var typ: String?
        var crit: [String]?
    }

    public func verify(_ token: String) throws(AccessTokenError) -> AccessTokenClaims {
        try verify(token[...])
    }

    /// A header other than the one this node writes (another issuer's field order, say):
    /// decoded, and held to the same rules.
    private func key(forForeignHeader encodedHeader: UnsafeBufferPointer<UInt8>) throws(AccessTokenError) -> JWTSigningKey {
        guard let headerBytes = Base64URL.decode(bytes: encodedHeader), JSONMemberNames.areUnique(headerBytes),
            let header = try? JSONDecoder().decode(Header.self, from: Data(headerBytes))
        else { throw .invalid("the header is not a JSON object with alg, each member named once") }
        guard header.crit == nil else { throw .invalid("unsupported critical header parameters") }
        guard header.typ == nil || header.typ == "JWT" else { throw .invalid("typ is not JWT") }
        guard let kid = header.kid, let key = keyRing.key(kid: kid) else { throw .invalid("unknown kid") }
        guard header.alg == key.algorithm.rawValue else { throw .invalid("alg does not match the key") }
        return key
    }

    public func verify(_ token: Substring) throws(AccessTokenError) -> AccessTokenClaims {
        guard token.utf8.count <= maximumLength else { throw .invalid("token longer than \(maximumLength) bytes") }
        var token = token
        // `withUTF8` rethrows untyped errors; the Result carries this one's type through it.
        return try token.withUTF8 { bytes in Result { () throws(AccessTokenError) in try verify(bytes: bytes) } }.get()
    }

    /// The index of the first `.` from `start` on, by `memchr`.
    private static func dot(in bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        guard start < bytes.count, let found = memchr(bytes.baseAddress! + start, Int32(UInt8(ascii: ".")), bytes.count - start) else {
            return nil
        }
        return bytes.baseAddress!.distance(to: found.assumingMemoryBound(to: UInt8.self))
    }

    /// The token's bytes where they lie, in the request's header.
    private func verify(bytes: UnsafeBufferPointer<UInt8>) throws(AccessTokenError) -> AccessTokenClaims {
        guard let firstDot = Self.dot(in: bytes, from: 0), let secondDot = Self.dot(in: bytes, from: firstDot + 1),
            Self.dot(in: bytes, from: secondDot + 1) == nil, secondDot + 1 < bytes.count
        else { throw .invalid("not a compact JWS of three parts") }
        let encodedHeader = UnsafeBufferPointer(rebasing: bytes[..<firstDot])
        guard let payloadBytes = Base64URL.decode(bytes: UnsafeBufferPointer(rebasing: bytes[(firstDot + 1)..<secondDot])),
            let signature = Base64URL.decode(bytes: UnsafeBufferPointer(rebasing: bytes[(secondDot + 1)...]))
        else { throw .invalid("a part is not base64url") }

        let key: JWTSigningKey
        if let own = keyRing.key(encodedHeader: encodedHeader) {
            key = own
        } else {
            key = try self.key(forForeignHeader: encodedHeader)
        }
        let signingInput = UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[..<secondDot]))
        guard key.verifies(signature, of: signingInput) else { throw .invalid("bad signature") }

        guard let claims = AccessTokenClaims.decode(payloadBytes) else {
            throw .invalid("the claims are missing, malformed or ambiguous")
        }
        guard claims.iss == issuer else { throw .invalid("wrong issuer") }
        guard claims.hasAudience(audience) else { throw .invalid("wrong audience") }
        let now = Int64(clock.now())
        guard claims.exp + Int64(leeway) > now else { throw .expired }
        guard claims.iat <= now + Int64(leeway) else { throw .invalid("issued in the future") }
        if let nbf = claims.nbf, nbf > now + Int64(leeway) { throw .invalid("not valid yet") }
        return claims
    }
}
