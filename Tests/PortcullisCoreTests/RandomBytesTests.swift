import Synchronization
import Testing

@testable import PortcullisCore

@Suite("Random bytes for ids")
struct RandomBytesTests {
    /// 10,000 pieces cross the 256-byte refill hundreds of times; 128 random bits never repeat by chance,
    /// so a repeat means a piece was handed out twice (a refill that did not happen, an index off by one).
    @Test("pieces are never handed out twice, across many refills")
    func distinct() {
        var seen = Set<[UInt64]>()
        for _ in 0..<10_000 {
            let (high, low) = RandomBytes.next128()
            #expect(seen.insert([high, low]).inserted)
        }
    }

    /// Every bit position takes both values across 2,000 pieces; a bit stuck at 0 or 1 (a piece read before
    /// its bytes were filled) fails this.
    @Test("every one of the 128 bits varies")
    func everyBitVaries() {
        var ones = [Int](repeating: 0, count: 128)
        let pieces = 2_000
        for _ in 0..<pieces {
            let (high, low) = RandomBytes.next128()
            for bit in 0..<64 {
                ones[bit] += Int((high >> UInt64(bit)) & 1)
                ones[64 + bit] += Int((low >> UInt64(bit)) & 1)
            }
        }
        #expect(ones.allSatisfy { $0 > 0 && $0 < pieces })
    }

    /// Threads sharing the pool still get distinct pieces (the pool is behind a lock).
    @Test("concurrent callers get distinct pieces")
    func concurrent() async {
        let all = await withTaskGroup(of: [[UInt64]].self) { group in
            for _ in 0..<8 {
                group.addTask {
                    (0..<2_000).map { _ in
                        let (high, low) = RandomBytes.next128(); return [high, low]
                    }
                }
            }
            return await group.reduce(into: [[UInt64]]()) { $0 += $1 }
        }
        #expect(all.count == 16_000)
        #expect(Set(all).count == all.count)
    }

    /// A source that writes a counter into each fill: every piece is the next 16 bytes of what the source
    /// gave, in order, none skipped or repeated, and the source is asked again exactly when 256 are used.
    @Test("the pool hands out its source's bytes in order, 16 at a time, refilling after 256")
    func fromSource() {
        let fills = Mutex(0)
        var pool = RandomBytes.Pool(source: { buffer in
            let fill = fills.withLock { count in
                count += 1
                return count
            }
            for index in 0..<buffer.count { buffer[index] = UInt8(truncatingIfNeeded: index &+ fill) }
            return true
        })
        for piece in 0..<40 {
            let (high, low) = pool.take()
            let fill = piece / 16 + 1
            let start = (piece % 16) * 16
            let expected = (0..<16).map { UInt8(truncatingIfNeeded: start + $0 + fill) }
            let got = withUnsafeBytes(of: (high, low)) { Array($0) }
            #expect(got == expected, "piece \(piece)")
        }
        #expect(fills.withLock { $0 } == 3)
    }

    /// When the source fails, the pool falls back to `SystemRandomNumberGenerator` instead of handing out
    /// stale or zero bytes.
    @Test("a failing source falls back to the system generator")
    func fallback() {
        var pool = RandomBytes.Pool(source: { buffer in
            for index in 0..<buffer.count { buffer[index] = 0 }
            return false
        })
        var seen = Set<[UInt64]>()
        for _ in 0..<64 {
            let (high, low) = pool.take()
            #expect(high != 0 || low != 0)
            #expect(seen.insert([high, low]).inserted)
        }
    }
}
