import Testing

@testable import AuthCore

@Suite struct JSONMemberNamesTests {
    @Test(arguments: [
        "{}",
        #"{"a":1}"#,
        #" { "a" : 1 , "b" : "x,}\"{" , "c" : {"a":1,"a":2} , "d" : [ {"a":1}, "]", null ], "e":null, "f":-1.5e3, "g":true } "#,
        #"{"name":"x","na\u006dex":1}"#,
    ])
    func namesNamedOnceAreUnique(_ json: String) {
        #expect(JSONMemberNames.areUnique(Array(json.utf8)), "\(json)")
    }

    @Test(arguments: [
        #"{"a":1,"a":2}"#,
        #"{"a":{"x":[1,2]},"b":null,"a":"again"}"#,
        #"{"name":"x","na\u006de":"y"}"#,
        #"{"\u0061":1,"a":2}"#,
        #"{"a":"x","b":[{"c":"]}"}],"a":3}"#,
    ])
    func aRepeatedNameIsFound(_ json: String) {
        #expect(!JSONMemberNames.areUnique(Array(json.utf8)), "\(json)")
    }

    @Test(arguments: ["", "[]", #""a""#, "null", #"{"a" 1}"#, #"{"a":1"#, #"{"a":1,}"#, #"{a:1}"#, #"{"a":"unterminated}"#])
    func whatIsNotAnObjectIsRefused(_ json: String) {
        #expect(!JSONMemberNames.areUnique(Array(json.utf8)), "\(json)")
    }
}
