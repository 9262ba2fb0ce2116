import Foundation
import NewsletterCore
import Testing

/// The one token bucket and the one backoff every rate limit and retry uses, on a clock the
/// test moves.
struct RateAndBackoffTests {
    @Test func aBucketGivesItsBurstThenOneTokenPerInterval() {
        var bucket = TokenBucket(ratePerSecond: 2, capacity: 3, at: .seconds(100))
        #expect((0..<3).map { _ in bucket.take(at: .seconds(100)) } == [nil, nil, nil])
        #expect(bucket.take(at: .seconds(100)) == .milliseconds(500))
        #expect(bucket.take(at: .milliseconds(100_250)) == .milliseconds(250))
        #expect(bucket.take(at: .milliseconds(100_500)) == nil)
        // Idle for long: full again, never more than the capacity.
        #expect(bucket.available(at: .seconds(1000)) == 3)
        // A clock read out of order (two threads) never adds tokens.
        #expect(bucket.take(at: .seconds(99)) == .milliseconds(500))
    }

    @Test func threadsSharingAPacedBucketWaitOnTheInjectedClock() {
        let time = ManualTime()
        let bucket = PacedBucket(perSecond: 4, burst: 1, time: time)
        let start = time.uptime()
        for _ in 0..<5 { bucket.acquire() }
        #expect(time.sleeps.count == 4)
        #expect(abs((time.uptime() - start).seconds - 1) < 1e-6)
    }

    @Test func theBackoffDoublesUpToItsCap() {
        let backoff = Backoff(base: .milliseconds(500), cap: .seconds(4))
        #expect((1...6).map { backoff.delay(beforeRetry: $0) } == [0.5, 1, 2, 4, 4, 4].map { Duration.seconds($0) })
        let jittered = Backoff(base: .seconds(2), cap: .seconds(60), jitter: 0.5)
        for _ in 0..<100 {
            let delay = jittered.delay(beforeRetry: 3).seconds
            #expect(delay >= 4 && delay <= 8)
        }
        #expect(Backoff(base: .seconds(1), cap: .seconds(30)).delay(beforeRetry: 500) == .seconds(30))
    }
}
