import AuthCore
import HTTPTypes
import Hummingbird
import Testing

@testable import AuthNode

/// The byte-level readers of the Authorization header and the `sid` cookie.
@Suite struct CredentialParsingTests {
    @Test func bearerTokenTakesTheSchemeInAnyCase() {
        for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
            #expect(Authentication.bearerToken("\(scheme) abc.def") == "abc.def", "\(scheme)")
        }
        #expect(Authentication.bearerToken("Bearer  abc") == " abc")
        for refused in ["", "Bearer", "Bearer ", "Bearerabc", "Bearer\tabc", "Basic abc", "Beärer abc", "Bearer:abc", "bearer_ abc", "Bea"] {
            #expect(Authentication.bearerToken(refused) == nil, "\(refused)")
        }
    }

    @Test func authorizationReadsAsTheHeaderSubscriptDoes() {
        let cases: [[String]] = [[], ["Bearer abc"], [""], ["Bearer a", "Bearer b"], ["Basic x", "Bearer y", "Bearer z"]]
        for values in cases {
            var headers: HTTPFields = [.cookie: "a=1", .accept: "*/*"]
            for value in values { headers.append(HTTPField(name: .authorization, value: value)) }
            headers.append(HTTPField(name: .userAgent, value: "test"))
            #expect(RequestCredential.authorization(in: headers) == headers[.authorization], "\(values)")
        }
        #expect(RequestCredential.authorization(in: [.authorization: "Bearer a", .proxyAuthorization: "b"]) == "Bearer a")
        #expect(RequestCredential.authorization(in: [HTTPField.Name("AUTHORIZATION")!: "Bearer a"]) == "Bearer a")
    }

    @Test func sessionCookieReadsAsHummingbirdsCookiesDo() {
        let cases: [[String]] = [
            ["sid=abc"], ["a=1; sid=abc; b=2"], ["a=1;sid=abc"], ["sid=abc; sid=def"], ["xsid=abc"], ["sid"], ["sid="],
            ["sid=a=b"], ["  sid=abc"], ["\tsid=abc"], ["a=1", "sid=x"], ["sid=1", "sid=2"], [""], ["sida=1; sid=2"], ["SID=abc"],
            [";;sid=abc;;"], ["sid=; sid=abc"], ["a=1; b"], ["sid =abc"], ["a=\"x;y\"; sid=z"], [],
        ]
        for values in cases {
            var headers = HTTPFields()
            for value in values { headers.append(HTTPField(name: .cookie, value: value)) }
            let expected = Cookies(from: values)["sid"]?.value
            #expect(RequestCredential.sessionCookie(in: headers).map(String.init) == expected, "\(values)")
        }
        #expect(RequestCredential.sessionCookie(in: [.cookie: "a=1; sid=abc"]) == "abc")
        #expect(RequestCredential.sessionCookie(in: [.authorization: "sid=abc"]) == nil)
    }
}
