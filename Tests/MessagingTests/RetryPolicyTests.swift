import Messaging
import Testing

@Suite("Retry backoff")
struct RetryPolicyTests {
    let policy = RetryPolicy(maxAttempts: 10, baseDelay: .seconds(1), maxDelay: .seconds(60))

    @Test("the delay doubles with each attempt before jitter")
    func doubles() {
        #expect(self.policy.delay(afterAttempts: 1, random: 1) == .seconds(1))
        #expect(self.policy.delay(afterAttempts: 2, random: 1) == .seconds(2))
        #expect(self.policy.delay(afterAttempts: 4, random: 1) == .seconds(8))
    }

    @Test("the delay is capped")
    func capped() {
        #expect(self.policy.delay(afterAttempts: 30, random: 1) == .seconds(60))
        #expect(self.policy.delay(afterAttempts: 1000, random: 1) == .seconds(60))
    }

    @Test("jitter keeps the delay between half and all of the backoff")
    func jitter() {
        #expect(self.policy.delay(afterAttempts: 3, random: 0) == .seconds(2))
        for _ in 0..<100 {
            let delay = self.policy.delay(afterAttempts: 3)
            #expect(delay >= .seconds(2) && delay <= .seconds(4))
        }
    }
}
