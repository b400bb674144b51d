import Foundation
import Hummingbird
import Testing

@testable import AuthNode

@Suite struct JSONResponseTests {
    @Test func writesJSONThatParsersReadBack() throws {
        let awkward = "Zoë \"Q\" \\ / \n\r\t\u{01}\u{1F} 😀 </script>"
        var json = JSONResponse()
        json.add("name", awkward)
        json.add("empty", "")
        let response = json.response()
        #expect(response.headers[.contentType] == "application/json; charset=utf-8")
        var body = ByteBuffer()
        var quoted = ByteBuffer()
        JSONResponse.writeQuoted(awkward, into: &quoted)
        body.writeString(#"{"name":"#)
        body.writeBuffer(&quoted)
        body.writeString(#","empty":""}"#)
        let parsed = try JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: String]
        #expect(parsed == ["name": awkward, "empty": ""])
    }

    @Test func membersAreWrittenInOrder() throws {
        #expect(String(buffer: JSONResponse().body) == "{}")
        var json = JSONResponse()
        json.add("a", "1")
        #expect(String(buffer: json.body) == #"{"a":"1"}"#)
        json.add("sub", "Zoë \"Q\"")
        json.add("role", "")
        #expect(String(buffer: json.body) == #"{"a":"1","sub":"Zoë \"Q\"","role":""}"#)
        var long = JSONResponse()
        let values = ["a": String(repeating: "\u{1}", count: 30), "b": String(repeating: "é\"", count: 50), "c": "end"]
        long.add("a", values["a"]!)
        long.add("b", values["b"]!)
        long.add("c", values["c"]!)
        let parsed = try JSONSerialization.jsonObject(with: Data(buffer: long.body)) as? [String: String]
        #expect(parsed == values, "a body past its first 128 bytes grows")
    }

    @Test func everyStringReadsBackAsItself() throws {
        for value in ["", "plain", "Zoë 😀", "a\"b", "back\\slash", "line\nbreak", "\u{7F}", "\u{1F}", "é\"é", String(repeating: "x", count: 300)] {
            var quoted = ByteBuffer()
            JSONResponse.writeQuoted(value, into: &quoted)
            let text = String(buffer: quoted)
            let parsed = try JSONSerialization.jsonObject(with: Data("[\(text)]".utf8)) as? [String]
            #expect(parsed == [value], "\(value.prefix(20))")
        }
    }
}
