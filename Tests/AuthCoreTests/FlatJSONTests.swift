import Foundation
import Testing

@testable import AuthCore

@Suite struct FlatJSONTests {
    @Test func readsWhatJSONDecoderReads() throws {
        let json = #" { "iss":"a\"b\\c\/d\n\t\u00e9\ud83d\ude00", "n": -12.5e2 , "z":0, "aud":["x","y"], "e":[] } "#
        let parsed = try #require(try FlatJSON.parse(Array(json.utf8)))
        let reference = try #require(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(parsed["iss"] == .string(reference["iss"] as! String))
        #expect(parsed["iss"] == .string("a\"b\\c/d\n\té😀"))
        #expect(parsed["n"] == .number(-1250))
        #expect(parsed["z"] == .number(0))
        #expect(parsed["aud"] == .strings(["x", "y"]))
        #expect(parsed["e"] == .strings([]))
        #expect(try FlatJSON.parse(Array("{}".utf8))?.isEmpty == true)
    }

    @Test func numbersReadAsDoubleReadsThem() throws {
        for text in ["0", "-0", "7", "-7", "1796035093", "-1796035093", "999999999999999", "-999999999999999", "1234567890123456", "9999999999999999",
            "12345678901234567", "1.5", "-0.25", "1e3", "2E-2", "10.0e+1"]
        {
            let parsed = try #require(try FlatJSON.parse(Array(#"{"n":\#(text)}"#.utf8)))
            #expect(parsed["n"] == .number(try #require(Double(text))), "\(text)")
        }
    }

    @Test func namesAreUniqueInLargeObjects() throws {
        let names = (1...40).map { "member\($0)" }
        let object = "{" + names.map { #""\#($0)":"\#($0)""# }.joined(separator: ",") + "}"
        let parsed = try #require(try FlatJSON.parse(Array(object.utf8)))
        #expect(parsed["member1"] == .string("member1"))
        #expect(parsed["member40"] == .string("member40"))
        #expect(parsed["member41"] == nil)
        for duplicate in ["member3", "member17", "member39"] {
            let twice = "{" + (names + [duplicate]).map { #""\#($0)":1"# }.joined(separator: ",") + "}"
            #expect(throws: FlatJSON.Malformed.self, "\(duplicate)") { try FlatJSON.parse(Array(twice.utf8)) }
        }
    }

    @Test func leavesOtherValuesToJSONDecoder() throws {
        for json in [#"{"a":{"b":1}}"#, #"{"a":true}"#, #"{"a":null}"#, #"{"a":[1]}"#] {
            #expect(try FlatJSON.parse(Array(json.utf8)) == nil, "\(json)")
        }
    }

    @Test func rejectsWhatIsNotJSONAndDuplicateNames() {
        let cases = [
            "", "[]", "{", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{\"a\":01}", "{\"a\":1.}", "{\"a\":.5}", "{\"a\":+1}",
            "{\"a\":\"\u{01}\"}", "{\"a\":\"\\x\"}", "{\"a\":\"\\ud800\"}", "{\"a\":1} x", "{a:1}", "{\"a\":1 \"b\":2}",
            "{\"a\":1,\"a\":2}", "{\"a\":\"unterminated}",
        ]
        for json in cases {
            #expect(throws: FlatJSON.Malformed.self, "\(json)") { try FlatJSON.parse(Array(json.utf8)) }
        }
        #expect(throws: FlatJSON.Malformed.self) { try FlatJSON.parse([0x7B, 0x22, 0x61, 0x22, 0x3A, 0x22, 0xFF, 0x22, 0x7D]) }
    }

    @Test func claimsNamingAClaimTwiceAreRefused() {
        let json = #"{"iss":"i","aud":"a","sub":"ann","name":"Ann","role":"admin","role":"reader","iat":1,"exp":2,"jti":"j"}"#
        #expect(AccessTokenClaims.decode(Array(json.utf8)) == nil)
        let single = #"{"iss":"i","aud":["a","b"],"sub":"ann","name":"Ann","role":"admin","iat":1.5,"exp":2,"jti":"j","x":{"y":true}}"#
        let claims = AccessTokenClaims.decode(Array(single.utf8))
        #expect(claims?.role == .admin, "a nested claim sends it to JSONDecoder, which reads it too")
        #expect(claims?.iat == 1)
    }

    @Test func claimNamesAreReadWithTheirEscapesResolved() {
        let rest = #""aud":"a","sub":"ann","name":"Ann","role":"admin","iat":1,"exp":2,"jti":"j""#
        #expect(AccessTokenClaims.decode(Array(#"{"\u0069ss":"i",\#(rest)}"#.utf8))?.iss == "i")
        #expect(AccessTokenClaims.decode(Array(#"{"iss":"i","\u0069ss":"k",\#(rest)}"#.utf8)) == nil)
        #expect(AccessTokenClaims.decode(Array(#"{"iss":"i","x":1,"x":2,\#(rest)}"#.utf8)) == nil, "an unknown member named twice")
        #expect(AccessTokenClaims.decode(Array(#"{"iss":"i","is":1,"issu":2,"\u0000iss":3,\#(rest)}"#.utf8))?.iss == "i")
        #expect(AccessTokenClaims.decode(Array(#"{"iss":"i",\#(rest.replacingOccurrences(of: "\"role\"", with: "\"rol\""))}"#.utf8)) == nil)
    }

    @Test func claimsOfTheWrongTypeAreRefused() {
        let valid = ["iss": #""i""#, "aud": #""a""#, "sub": #""ann""#, "name": #""Ann""#, "role": #""admin""#, "iat": "1", "exp": "2", "jti": #""j""#]
        func decode(_ members: [String: String]) -> AccessTokenClaims? {
            AccessTokenClaims.decode(Array(("{" + members.map { #""\#($0.key)":\#($0.value)"# }.joined(separator: ",") + "}").utf8))
        }
        #expect(decode(valid)?.sub == "ann")
        #expect(decode(valid)?.nbf == nil)
        #expect(decode(valid.merging(["nbf": "3"]) { $1 })?.nbf == 3)
        #expect(decode(valid.merging(["aud": #"["x","a"]"#]) { $1 })?.hasAudience("a") == true)
        let wrong = [
            ("iss", "1"), ("aud", "1"), ("sub", #"["ann"]"#), ("name", "2"), ("role", #""root""#), ("role", "1"),
            ("iat", #""1""#), ("exp", "1e300"), ("jti", "[]"), ("nbf", #""3""#), ("exp", "true"), ("sub", "null"),
        ]
        for (claim, value) in wrong {
            #expect(decode(valid.merging([claim: value]) { $1 }) == nil, "\(claim): \(value)")
        }
        for claim in valid.keys {
            #expect(decode(valid.filter { $0.key != claim }) == nil, "without \(claim)")
        }
    }

    @Test func sessionsRoundTrip() throws {
        let session = StoredSession(user: UserClaims(sub: "u\"1", name: "Zoë", role: .writer), created: 10, absoluteExpiry: 20)
        let json = try JSONEncoder().encode(session)
        #expect(StoredSession.decode(Array(json)) == session)
    }
}
