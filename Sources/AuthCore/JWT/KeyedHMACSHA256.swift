import Crypto

/// HMAC-SHA256 (RFC 2104) with the key's two padded blocks hashed once, at start. swift-crypto's
/// `HMAC` keeps the same two states, but its `update` is generic over `DataProtocol` and runs
/// unspecialized, with type-metadata lookups, for every token; this one hashes the bytes as
/// they lie, with swift-crypto's SHA-256.
struct KeyedHMACSHA256: Sendable {
    private let inner: SHA256
    private let outer: SHA256

    init(key: [UInt8]) {
        var block = key.count > SHA256.blockByteCount ? Array(SHA256.hash(data: key)) : key
        block.append(contentsOf: repeatElement(0, count: SHA256.blockByteCount - block.count))
        var inner = SHA256()
        inner.update(data: block.map { $0 ^ 0x36 })
        var outer = SHA256()
        outer.update(data: block.map { $0 ^ 0x5C })
        self.inner = inner
        self.outer = outer
    }

    func authenticationCode(for message: UnsafeRawBufferPointer) -> SHA256.Digest {
        var inner = self.inner
        inner.update(bufferPointer: message)
        var outer = self.outer
        inner.finalize().withUnsafeBytes { outer.update(bufferPointer: $0) }
        return outer.finalize()
    }

    func authenticationCode(for message: [UInt8]) -> SHA256.Digest {
        message.withUnsafeBytes { authenticationCode(for: $0) }
    }
}
