/// How long to wait before the next try of something that failed for a passing reason: the
/// delay doubles from `base` up to `cap`, with optional jitter so that many clients retrying
/// together spread out. One rule for every retry (the send, the ledger write, model calls, the
/// endpoint's mail queue).
public struct Backoff: Sendable, Equatable {
    public var base: Duration
    public var cap: Duration
    /// The delay is scaled by a random factor in `jitter...1`; 1 means none.
    public var jitter: Double

    public init(base: Duration, cap: Duration, jitter: Double = 1) {
        self.base = base
        self.cap = cap
        self.jitter = jitter
    }

    /// The wait before retry number `retry` (1 for the first retry).
    public func delay(beforeRetry retry: Int) -> Duration {
        let doubled = base.seconds * Double(1 << min(max(retry - 1, 0), 30))
        let scale = jitter < 1 ? Double.random(in: jitter...1) : 1
        return .seconds(min(cap.seconds, doubled) * scale)
    }
}
