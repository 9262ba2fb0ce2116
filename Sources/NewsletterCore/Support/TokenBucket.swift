import Synchronization

/// Tokens that refill at a steady rate up to a capacity: the one rule behind every rate limit
/// here (the send's messages per second and per hour, a model endpoint's requests per minute,
/// the endpoint's requests per client). A value, read against the time it is given.
public struct TokenBucket: Sendable, Equatable {
    public let ratePerSecond: Double
    public let capacity: Double
    public private(set) var tokens: Double
    public private(set) var updated: Duration

    /// A full bucket at `now` (a `TimeSource.uptime()` reading).
    public init(ratePerSecond: Double, capacity: Double, at now: Duration) {
        precondition(ratePerSecond > 0 && capacity >= 1, "a bucket must refill and hold at least one token")
        self.ratePerSecond = ratePerSecond
        self.capacity = capacity
        self.tokens = capacity
        self.updated = now
    }

    /// The tokens there would be at `now`, without taking any.
    public func available(at now: Duration) -> Double {
        guard now > updated else { return tokens }
        return min(capacity, tokens + (now - updated).seconds * ratePerSecond)
    }

    /// Takes one token at `now` and returns nil, or, when there is none, takes nothing and
    /// returns how long until there will be one.
    public mutating func take(at now: Duration) -> Duration? {
        tokens = available(at: now)
        updated = max(updated, now)
        // A hair's tolerance: a wait computed for exactly one token must yield one, whatever
        // the rounding of seconds into a `Duration` and back.
        guard tokens >= 1 - 1e-9 else { return .seconds((1 - tokens) / ratePerSecond) }
        tokens -= 1
        return nil
    }
}

/// One token bucket that several threads draw from, each waiting (blocking) for its turn.
public final class PacedBucket: Sendable {
    private let bucket: Mutex<TokenBucket>
    private let time: any TimeSource

    /// `perSecond` a second, at most `burst` at once.
    public init(perSecond: Double, burst: Double, time: any TimeSource) {
        self.time = time
        bucket = Mutex(TokenBucket(ratePerSecond: perSecond, capacity: max(1, burst), at: time.uptime()))
    }

    /// Returns once a token is taken.
    public func acquire() {
        while let wait = bucket.withLock({ $0.take(at: time.uptime()) }) {
            time.sleep(for: wait)
        }
    }
}
