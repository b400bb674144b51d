import AuthCore
import HTTPTypes

/// Reads a request's `Credential` from its headers, once per request, on bytes: this runs on
/// every request.
enum RequestCredential {
    static func read(_ headers: HTTPFields) -> Credential {
        switch (authorization(in: headers), sessionCookie(in: headers)) {
        case (.some, .some): .ambiguous
        case (.some(let authorization), .none): .authorization(authorization)
        case (.none, .some(let sessionID)): .sessionID(sessionID)
        case (.none, .none): .none
        }
    }

    /// The Authorization header's value, as `headers[.authorization]` gives it (several fields
    /// joined by ", ", which no token then matches) but without joining the one a request has:
    /// the subscript joins through unspecialized generic code and copies the value.
    static func authorization(in headers: HTTPFields) -> String? {
        var found: String?
        for field in headers where field.name == .authorization {
            guard found == nil else { return headers[.authorization] }
            found = field.value
        }
        return found
    }

    /// The first `sid` cookie's value, read as Hummingbird's `request.cookies` reads it (pairs
    /// split at `;`, leading blanks dropped, the name up to the first `=`, an empty value as
    /// none) but without parsing the other cookies. A slice of the header's value, so asking
    /// whether there is one allocates nothing.
    static func sessionCookie(in headers: HTTPFields) -> Substring? {
        let name = "sid".utf8
        for field in headers where field.name == .cookie {
            let value = field.value
            let utf8 = value.utf8
            var pairStart = utf8.startIndex
            while pairStart < utf8.endIndex {
                let pairEnd = utf8[pairStart...].firstIndex(of: UInt8(ascii: ";")) ?? utf8.endIndex
                var nameStart = pairStart
                while nameStart < pairEnd, utf8[nameStart] == UInt8(ascii: " ") || utf8[nameStart] == UInt8(ascii: "\t") {
                    nameStart = utf8.index(after: nameStart)
                }
                if let equals = utf8[nameStart..<pairEnd].firstIndex(of: UInt8(ascii: "=")),
                    utf8[nameStart..<equals].elementsEqual(name)
                {
                    let cookie = value[utf8.index(after: equals)..<pairEnd]
                    return cookie.isEmpty ? nil : cookie
                }
                pairStart = pairEnd == utf8.endIndex ? pairEnd : utf8.index(after: pairEnd)
            }
        }
        return nil
    }
}
