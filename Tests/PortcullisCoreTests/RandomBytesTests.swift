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
    /// its bytes were filled, or after they were zeroed) fails this.
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
}
