import Foundation

/// What became of one issue once sent: the ledger, bounces and complaints against the large
/// receivers' limit, unsubscribes in the week after the send, clicks, and the send's progress over time.
/// `newsletter report` and `/editor/issues/WEEK/report` show it. Reads only.
public struct IssueReport: Encodable, Sendable {
    public struct Ledger: Encodable, Sendable, Equatable {
        public var sent = 0
        public var deferred = 0
        public var failed = 0
        public var skipped = 0
        /// Pending, or claimed by a send under way.
        public var waiting = 0
    }

    public struct Bounces: Encodable, Sendable, Equatable {
        public var hard: Int
        public var soft: Int
        public var policy: Int
        public var complaints: Int
        /// Copies accepted: the rates' denominator.
        public var delivered: Int
        /// Hard and soft bounces per delivered copy; nil before anything was delivered.
        public var bounceRate: Double?
        public var complaintRate: Double?
        /// Gmail's and Yahoo's limit for bulk senders.
        public var complaintLimit = BounceRule.complaintRateThreshold
        public var complaintRateTooHigh: Bool
    }

    public struct Unsubscribes: Encodable, Sendable, Equatable {
        public var days: Int
        public var count: Int
        /// Per delivered copy.
        public var rate: Double?
    }

    public var week: IssueWeek
    public var subject: String?
    public var status: IssueStatus
    public var sentAt: Date?
    public var ledger: Ledger
    public var bounces: Bounces
    /// nil before the first copy went out.
    public var unsubscribes: Unsubscribes?
    public var progress: SendProgress?
    /// Clicks on the tracked links, per link and per comparison, scanners apart.
    public var clicks: IssueClicks
    /// What needs a person (policy refusals, a complaint rate at or past the limit).
    public var warnings: [String]
    /// The relays that took this issue's messages, or stand down now: each one's share and health.
    public var relays: [RelayStatus]

    /// Unsubscribes count for an issue within this long after its first copy went out.
    public static let unsubscribeDays = 7

    /// The report of `week` as the store has it now; `ReportError.noIssue` when the week has none.
    /// `now` says whether a relay marked down is still down.
    public static func make(_ week: IssueWeek, store: some IssueReportStore & RelayStore, at now: Date) async throws
        -> IssueReport
    {
        guard let issue = try await store.issue(week) else { throw ReportError.noIssue(week) }
        let counts = try await store.deliveryCounts(week)
        let tally = try await store.bounceTally(week)
        let activity = try await store.sendActivity(
            week, unsubscribeWindow: TimeInterval(unsubscribeDays) * 86400)
        let ledger = Ledger(
            sent: counts[.sent] ?? 0, deferred: counts[.deferred] ?? 0, failed: counts[.failed] ?? 0,
            skipped: counts[.skipped] ?? 0, waiting: (counts[.pending] ?? 0) + (counts[.sending] ?? 0))
        return IssueReport(
            week: week, subject: issue.subject, status: issue.status, sentAt: issue.sentAt, ledger: ledger,
            bounces: Bounces(tally),
            unsubscribes: activity.unsubscribes.map {
                Unsubscribes(days: unsubscribeDays, count: $0, rate: rate($0, of: tally.delivered))
            },
            progress: activity.progress,
            clicks: IssueClicks(try await store.linkClicks(week), manifest: issue.manifest, delivered: tally.delivered),
            warnings: tally.warnings,
            relays: try await RelayStatus.of(week, configured: [], store: store, now: now))
    }

    static func rate(_ count: Int, of total: Int) -> Double? {
        total > 0 ? Double(count) / Double(total) : nil
    }

    /// The report as lines for a person.
    public var text: String {
        var lines = ["\(week)  \(status.rawValue)\(subject.map { "  \"\($0)\"" } ?? "")"]
        if let sentAt { lines.append("  sent at \(sentAt.formatted(.iso8601))") }
        lines.append(
            "  ledger: \(ledger.sent) sent, \(ledger.deferred) deferred, \(ledger.failed) failed, \(ledger.skipped) skipped, \(ledger.waiting) waiting"
        )
        lines.append(
            "  bounces: \(bounces.hard) hard, \(bounces.soft) soft\(Self.percent(bounces.bounceRate, of: bounces.delivered)), \(bounces.policy) policy"
        )
        lines.append(
            "  complaints: \(bounces.complaints)\(Self.percent(bounces.complaintRate, of: bounces.delivered)); Gmail and Yahoo allow 0.3 %"
                + (bounces.complaintRateTooHigh ? " — AT OR OVER THE LIMIT" : ""))
        if let unsubscribes {
            lines.append(
                "  unsubscribes within \(unsubscribes.days) days of the send: \(unsubscribes.count)\(Self.percent(unsubscribes.rate, of: bounces.delivered))"
            )
        }
        if clicks.links.isEmpty {
            lines.append("  clicks: no tracked links (tracking.clicks = \"off\", or a draft frozen before tracking)")
        } else {
            lines.append(
                "  clicks: \(clicks.clicks)\(clicks.clickRate.map { String(format: " (%.2f %% per delivered copy)", $0 * 100) } ?? ""), and \(clicks.scannerClicks) by link scanners (not counted)"
            )
            for comparison in clicks.comparisons {
                lines.append("    \(comparison.clicks)  \(comparison.title)  (scanners \(comparison.scannerClicks))")
            }
            for link in clicks.links {
                lines.append("    \(link.clicks)  \(link.target)  [\(link.variant)] (scanners \(link.scannerClicks))")
            }
        }
        if let progress {
            lines.append("  progress (copies accepted per \(Self.duration(progress.bucketSeconds))):")
            var total = 0
            for (index, sent) in progress.sent.enumerated() {
                total += sent
                let start = progress.start.addingTimeInterval(TimeInterval(index * progress.bucketSeconds))
                lines.append("    \(start.formatted(.iso8601))  \(sent)  (\(total) in all)")
            }
        } else {
            lines.append("  progress: nothing sent yet")
        }
        for relay in relays { lines.append("  relay \(relay.line)") }
        for warning in warnings { lines.append("  warning: \(warning)") }
        return lines.joined(separator: "\n")
    }

    /// ` (0.25 % of 1980 delivered)`, or nothing before anything was delivered.
    static func percent(_ rate: Double?, of delivered: Int) -> String {
        rate.map { String(format: " (%.2f %% of %d delivered)", $0 * 100, delivered) } ?? ""
    }

    /// `5 min`, `1 h`, `1 day`.
    public static func duration(_ seconds: Int) -> String {
        switch seconds {
        case ..<3600: "\(seconds / 60) min"
        case ..<86400: "\(seconds / 3600) h"
        case 86400: "day"
        case 604800: "week"
        default: "\(seconds / 86400) days"
        }
    }
}

extension IssueReport.Bounces {
    init(_ tally: BounceTally) {
        self.init(
            hard: tally.hard, soft: tally.soft, policy: tally.policy, complaints: tally.complaints,
            delivered: tally.delivered, bounceRate: IssueReport.rate(tally.hard + tally.soft, of: tally.delivered),
            complaintRate: tally.complaintRate, complaintRateTooHigh: tally.complaintRateTooHigh)
    }
}

/// Why a report could not be made.
public enum ReportError: Error, Equatable, CustomStringConvertible {
    case noIssue(IssueWeek)

    public var description: String {
        switch self {
        case .noIssue(let week):
            "\(week) has no issue to report on; `newsletter issues` lists the weeks that have one"
        }
    }
}
