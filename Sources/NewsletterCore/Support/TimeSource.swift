import Foundation

/// Where every time-dependent part (rate limits, backoffs, leases, expiry, the schedule) reads
/// the time and waits. Production reads the system's clocks; a test moves a manual one by hand,
/// so no test depends on how fast, or how busy, the machine is.
public protocol TimeSource: Sendable {
    /// Wall-clock time: what is stored and compared with stored times (expiry, leases, weeks).
    func now() -> Date
    /// A reading of a clock that never jumps, from an arbitrary origin, for intervals (token
    /// buckets, deadlines).
    func uptime() -> Duration
    /// Blocks the calling thread for `duration` (a backoff on a sender's own thread).
    func sleep(for duration: Duration)
}

/// The system's clocks.
public struct SystemTime: TimeSource {
    private static let origin = ContinuousClock.now

    public init() {}

    public func now() -> Date { Date() }

    public func uptime() -> Duration { ContinuousClock.now - Self.origin }

    public func sleep(for duration: Duration) {
        guard duration > .zero else { return }
        Thread.sleep(forTimeInterval: duration.seconds)
    }
}

extension Duration {
    /// The duration in seconds, as a `Double`.
    public var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
