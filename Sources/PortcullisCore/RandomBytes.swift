import Synchronization

#if canImport(Darwin)
    import Darwin
#elseif canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#else
    #error("RandomBytes needs Darwin's arc4random_buf or a C library with getentropy")
#endif

/// Random bits for the ids made on every request (``TimeOrderedID``), from the operating system's
/// cryptographically secure generator.
///
/// On Linux each call of `SystemRandomNumberGenerator.next()` is a `getrandom(2)` system call, two per id;
/// here `getentropy` (the same kernel generator) fills a pool of 256 bytes, its largest request, and each
/// id takes 16 of them, so one system call serves 16 ids. On Darwin `arc4random_buf`, which
/// `SystemRandomNumberGenerator` uses there too, costs no system call, so there is no pool. Every byte is
/// handed out once (the pool is behind a lock). The process must not `fork` after the first id: the child
/// would hand out the parent's remaining bytes again (the gateway never forks; child processes are started
/// with `posix_spawn`).
enum RandomBytes {
    /// 128 fresh random bits.
    static func next128() -> (UInt64, UInt64) {
        #if canImport(Darwin)
            var words: (UInt64, UInt64) = (0, 0)
            withUnsafeMutableBytes(of: &words) { arc4random_buf($0.baseAddress, $0.count) }
            return words
        #else
            return self.pool.withLock { $0.take() }
        #endif
    }

    #if !canImport(Darwin)
        private static let pool = Mutex(Pool(source: Pool.entropy))
    #endif

    /// Bytes read ahead from `source`, handed out 16 at a time.
    struct Pool: ~Copyable {
        /// `getentropy` refuses requests over 256 bytes (EIO).
        static let size = 256

        /// Fills the buffer completely, or returns false.
        typealias Source = @Sendable (UnsafeMutableRawBufferPointer) -> Bool

        private let source: Source
        private var bytes = [UInt8](repeating: 0, count: Self.size)
        private var next = Self.size

        init(source: @escaping Source) {
            self.source = source
        }

        #if !canImport(Darwin)
            static let entropy: Source = { buffer in getentropy(buffer.baseAddress, buffer.count) == 0 }
        #endif

        mutating func take() -> (UInt64, UInt64) {
            if self.next + 16 > Self.size {
                self.refill()
                self.next = 0
            }
            let start = self.next
            self.next += 16
            return self.bytes.withUnsafeBytes { buffer in
                (buffer.loadUnaligned(fromByteOffset: start, as: UInt64.self), buffer.loadUnaligned(fromByteOffset: start + 8, as: UInt64.self))
            }
        }

        /// From `source`; if that fails, from `SystemRandomNumberGenerator` (the same kernel generator,
        /// eight bytes per call), which never fails.
        private mutating func refill() {
            let source = self.source
            guard !self.bytes.withUnsafeMutableBytes({ source($0) }) else { return }
            var generator = SystemRandomNumberGenerator()
            self.bytes.withUnsafeMutableBytes { buffer in
                for offset in stride(from: 0, to: buffer.count, by: 8) {
                    buffer.storeBytes(of: generator.next() as UInt64, toByteOffset: offset, as: UInt64.self)
                }
            }
        }
    }
}
