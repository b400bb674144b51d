/// Lower-case hexadecimal, as Redis keys hold digests and JSON escapes control characters.
public enum Hex {
    public static let digits = Array("0123456789abcdef".utf8)
}

extension Sequence where Element == UInt8 {
    var hexString: String {
        var bytes: [UInt8] = []
        for byte in self {
            bytes.append(Hex.digits[Int(byte >> 4)])
            bytes.append(Hex.digits[Int(byte & 0x0F)])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
