import Foundation

/// `mail.list_messages_per_second`: the whole list's sending rate, however many senders share
/// it (each host may add its own relay quota, `mail.messages_per_second`, which is per process).
/// A token bucket kept in the store: every sender takes its tokens from the same row, a few at a
/// time, before it claims as many recipients. The bucket refills a little slower than the limit
/// (`refillPerSecond`) so that the burst it starts a second with is paid for: the senders
/// together take at most `perSecond` tokens in any one second (a whole-number limit), at
/// the cost of sending at about 95 % of it over a long run.
///
/// Times are the senders' own clocks: hosts sharing a list need them in step (NTP), as their
/// leases do.
public struct ListSendLimit: Sendable, Equatable {
    public var perSecond: Double
    /// Tokens saved up at most, and so the most all senders together may send at once; also
    /// how many one sender takes per visit to the store.
    public var burst: Double
    /// Tokens added per second. A second that opens with a full bucket may take the burst and
    /// then what the refill adds before the second ends, which is under `refillPerSecond`
    /// whole tokens (the last one lands as the next second begins): burst + refill − 1 is the
    /// most one second can hold, and that is the limit.
    public var refillPerSecond: Double

    public init(perSecond: Double) {
        precondition(perSecond > 0, "a list-wide limit must let something through")
        self.perSecond = perSecond
        // A twentieth of a second's worth: one store round trip per chunk, and what the
        // refill gives up to stay under the limit in every second.
        self.burst = max(1, (perSecond / 20).rounded(.down))
        self.refillPerSecond = perSecond - burst + 1
    }

    /// What a bucket stored as `tokens` at `updated` holds, refilled, at `now`.
    public func refilled(_ tokens: Double, since updated: Date, now: Date) -> Double {
        let elapsed = max(0, now.timeIntervalSince(updated))
        return min(burst, tokens + elapsed * refillPerSecond)
    }

    /// Takes up to `wanted` whole tokens at `now` from a bucket stored as `tokens` at
    /// `updated`; returns how many were granted and the bucket to store (`nil` stored: full).
    public func take(_ wanted: Int, stored: (tokens: Double, updated: Date)?, now: Date) -> (
        granted: Int, tokens: Double, updated: Date
    ) {
        // Asking for nothing changes nothing (not even the bucket's time).
        if wanted <= 0, let stored { return (0, stored.tokens, stored.updated) }
        let available = stored.map { refilled($0.tokens, since: $0.updated, now: now) } ?? burst
        // A thousandth of a token's tolerance: a `Date` far from 1970 keeps time to about a
        // microsecond, so waiting exactly one token's time must still yield one.
        let granted = max(0, min(wanted, Int((available + 1e-3).rounded(.down))))
        // A clock that stepped back never adds tokens; the later of the two times is kept.
        let updated = max(now, stored?.updated ?? now)
        // Not clamped at zero: a token granted a thousandth early is owed, so the tolerance
        // cannot add up over many takes into a token more than the refill gave.
        return (granted, available - Double(granted), updated)
    }

    /// How long a sender that got nothing waits before asking again: one token's time.
    public var retryDelay: Duration { .seconds(1 / refillPerSecond) }
}

/// The store side of the list-wide limits, on the ledger because every sender of it needs it:
/// the list's own bucket (`list`) and one per relay with a quota (`relay:<name>`).
public protocol ListSendQuota: Sendable {
    /// Takes up to `wanted` tokens of the bucket named `bucket` at `time` (see `ListSendLimit`);
    /// returns how many it got, possibly none.
    func takeSendTokens(_ wanted: Int, limit: ListSendLimit, bucket: String, at time: Date) async throws -> Int
}

extension ListSendQuota {
    /// Takes up to `wanted` tokens of the list's bucket (`mail.list_messages_per_second`).
    public func takeListSendTokens(_ wanted: Int, limit: ListSendLimit, at time: Date) async throws -> Int {
        try await takeSendTokens(wanted, limit: limit, bucket: "list", at: time)
    }
}
