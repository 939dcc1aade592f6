import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The operating system's randomness (`getentropy`, which is `getrandom(2)` on Linux), read 256 bytes at a
/// time and handed out in 16-byte pieces, so that ids made on every request cost one system call per 16
/// ids instead of two each. The bytes are the same cryptographically secure ones
/// `SystemRandomNumberGenerator` returns; each is handed out once and the used ones are zeroed.
enum RandomBytes {
    private static let chunk = 256
    private static let pool = Mutex(Pool())

    private struct Pool: ~Copyable {
        var bytes = [UInt8](repeating: 0, count: RandomBytes.chunk)
        var next = RandomBytes.chunk
    }

    /// 128 fresh random bits.
    static func next128() -> (UInt64, UInt64) {
        self.pool.withLock { pool in
            if pool.next + 16 > Self.chunk {
                Self.fill(&pool.bytes)
                pool.next = 0
            }
            var words: (UInt64, UInt64) = (0, 0)
            let start = pool.next
            pool.bytes.withUnsafeMutableBytes { buffer in
                words.0 = buffer.loadUnaligned(fromByteOffset: start, as: UInt64.self)
                words.1 = buffer.loadUnaligned(fromByteOffset: start + 8, as: UInt64.self)
                for index in start..<(start + 16) { buffer[index] = 0 }
            }
            pool.next += 16
            return words
        }
    }

    /// Fills `bytes` from the operating system; falls back to `SystemRandomNumberGenerator` (the same source,
    /// eight bytes per call) if the call fails.
    private static func fill(_ bytes: inout [UInt8]) {
        let count = bytes.count
        let filled: Bool = bytes.withUnsafeMutableBytes { buffer in
            // `getentropy` (glibc 2.25, musl, Darwin) reads up to 256 bytes from the kernel's generator.
            getentropy(buffer.baseAddress, count) == 0
        }
        guard !filled else { return }
        var generator = SystemRandomNumberGenerator()
        for index in stride(from: 0, to: count, by: 8) {
            var word = generator.next() as UInt64
            withUnsafeBytes(of: &word) { source in
                for offset in 0..<min(8, count - index) { bytes[index + offset] = source[offset] }
            }
        }
    }
}
