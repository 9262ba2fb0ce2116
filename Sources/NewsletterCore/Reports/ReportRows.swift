import Foundation

/// The reads the reports need, each one statement. Each store answers them in its own SQL (the
/// two date arithmetics differ); what they mean for a report is decided once, in `IssueReport`
/// and `PublisherTrends`, over this protocol.
protocol ReportRows {
    /// Copies of the week's issue accepted in each minute: the minute's start (whole seconds
    /// since 1970) → count. Minutes with none are left out; empty before any copy was accepted.
    /// (Grouped by minute in the store, so a list of 100,000 comes back as a few hundred rows.)
    func sentPerMinute(_ week: IssueWeek) async throws -> [Int64: Int]
    /// Recipients of the week's issue who unsubscribed (a consent record) within `window`.
    func unsubscribedRecipients(_ week: IssueWeek, within window: DateInterval) async throws -> Int
    /// Consent records of these events within `window` (signups confirmed, imports, unsubscribes).
    func consentEvents(_ events: [String], within window: DateInterval) async throws -> Int
    /// Subscribers that bounce reports received within `window` marked bounced.
    func subscribersMarkedBounced(within window: DateInterval) async throws -> Int
    /// Subscribers confirmed now.
    func confirmedSubscribers() async throws -> Int
}

/// What the send of one issue looked like, as the ledger's timestamps and the consent trail
/// tell it: read by `IssueReportStore.sendActivity`.
public struct SendActivity: Sendable, Equatable {
    /// Copies accepted per bucket, oldest first, empty buckets included.
    public var progress: SendProgress?
    /// Recipients who unsubscribed within the window after the minute the first copy went out.
    public var unsubscribes: Int?
}

/// Accepted copies per time bucket, for a chart of the send.
public struct SendProgress: Sendable, Equatable, Encodable {
    /// The start of the first bucket (a multiple of `bucketSeconds` since 1970).
    public var start: Date
    public var bucketSeconds: Int
    /// Copies accepted in each bucket, the first starting at `start`.
    public var sent: [Int]

    /// The widths a bucket may have: from a minute to a week, so that a send of a few minutes
    /// and one spread over days both give a readable chart.
    static let bucketWidths: [Int64] = [60, 300, 900, 1800, 3600, 7200, 21600, 43200, 86400, 604800]
    /// At most this many buckets (unless the send spans more than that many weeks).
    static let maximumBuckets: Int64 = 48

    /// The narrowest width that covers the minutes from `first` to `last` (whole seconds since
    /// 1970) in at most `maximumBuckets` buckets, and the first bucket's start, aligned to it.
    static func buckets(first: Int64, last: Int64) -> (start: Int64, width: Int64, count: Int) {
        for width in bucketWidths {
            let start = first - first.modulo(width)
            let count = (last - start) / width + 1
            if count <= maximumBuckets || width == bucketWidths.last { return (start, width, Int(count)) }
        }
        preconditionFailure("bucketWidths is not empty")
    }
}

extension SendProgress {
    /// The copies accepted per minute, added up into buckets; nil when there are none.
    init?(perMinute: [Int64: Int]) {
        guard let first = perMinute.keys.min(), let last = perMinute.keys.max() else { return nil }
        let buckets = Self.buckets(first: first, last: last)
        var sent = Array(repeating: 0, count: buckets.count)
        for (minute, count) in perMinute { sent[Int((minute - buckets.start) / buckets.width)] += count }
        self.init(
            start: Date(timeIntervalSince1970: TimeInterval(buckets.start)), bucketSeconds: Int(buckets.width),
            sent: sent)
    }
}

extension Int64 {
    /// The remainder that is never negative (dates before 1970 align the same way).
    fileprivate func modulo(_ divisor: Int64) -> Int64 { ((self % divisor) + divisor) % divisor }
}

/// The store side of the reports, declared where they are made.
public protocol IssueReportStore: Sendable {
    func issue(_ week: IssueWeek) async throws -> IssueRecord?
    func listIssues() async throws -> [IssueRecord]
    func deliveryCounts(_ week: IssueWeek) async throws -> [DeliveryState: Int]
    func bounceTally(_ week: IssueWeek?) async throws -> BounceTally
    func linkClicks(_ week: IssueWeek) async throws -> [LinkClicks]
    /// The send's progress and the unsubscribes within `unsubscribeWindow` of its first copy.
    func sendActivity(_ week: IssueWeek, unsubscribeWindow: TimeInterval) async throws -> SendActivity
    /// Subscribers who joined, left and bounced in each window, and how many are confirmed now.
    func subscriberMovements(in windows: [DateInterval]) async throws -> (
        movements: [SubscriberMovement], confirmedNow: Int
    )
}

/// Who joined and who left in one window (a week, for the charts).
public struct SubscriberMovement: Sendable, Equatable, Encodable {
    /// Confirmed signups and imports.
    public var joined: Int
    public var unsubscribed: Int
    public var bounced: Int
}

extension RowTransactions {
    public func sendActivity(_ week: IssueWeek, unsubscribeWindow: TimeInterval) async throws -> SendActivity {
        try await rowRead { rows in
            let perMinute = try await rows.sentPerMinute(week)
            guard let progress = SendProgress(perMinute: perMinute), let first = perMinute.keys.min() else {
                return SendActivity()
            }
            // From the minute of the first copy: the ledger's times go no finer here.
            let start = Date(timeIntervalSince1970: TimeInterval(first))
            let unsubscribes = try await rows.unsubscribedRecipients(
                week, within: DateInterval(start: start, duration: unsubscribeWindow))
            return SendActivity(progress: progress, unsubscribes: unsubscribes)
        }
    }

    public func subscriberMovements(in windows: [DateInterval]) async throws -> (
        movements: [SubscriberMovement], confirmedNow: Int
    ) {
        try await rowRead { rows in
            var movements: [SubscriberMovement] = []
            for window in windows {
                movements.append(
                    SubscriberMovement(
                        joined: try await rows.consentEvents(["confirm", "import"], within: window),
                        unsubscribed: try await rows.consentEvents(["unsubscribe"], within: window),
                        bounced: try await rows.subscribersMarkedBounced(within: window)))
            }
            return (movements, try await rows.confirmedSubscribers())
        }
    }
}
