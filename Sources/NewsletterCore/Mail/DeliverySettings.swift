import Foundation

/// How an issue is sent.
public struct DeliverySettings: Sendable {
    public var from: MailAddress
    /// `List-Id`, e.g. `weekly.shiporskip.example`.
    public var listID: String
    /// Where `serve` answers unsubscribe and preference links.
    public var publicURL: String
    public var unsubscribeMailto: String?
    public var feedbackID: String?
    /// Concurrent SMTP connections.
    public var concurrency = 4
    /// `mail.messages_per_second` and `_per_hour`: this process's own pace (the relay quota of
    /// the host it sends through); every sender on a shared database has its own.
    public var messagesPerSecond: Double?
    public var messagesPerHour: Double?
    /// `mail.list_messages_per_second`: the whole list's pace, shared by all its senders
    /// through the store (`ListSendLimit`).
    public var listLimit: ListSendLimit?
    /// Retries of a temporary failure within one run, before the row is deferred to the next.
    public var retries = 3
    public var retryBaseDelay: Duration = .milliseconds(500)
    public var retryMaxDelay: Duration = .seconds(8)
    /// How long a relay that failed stays down: doubling with each failure in a row.
    public var relayBackoff = Backoff(base: .seconds(5), cap: .seconds(300))
    /// Soft bounces within `bounceWindow` after which a subscriber is marked bounced.
    public var bounceAfter = 3
    public var bounceWindow: TimeInterval = 30 * 86400
    /// `mail.bounce_address`: each copy's envelope sender becomes `bounces+<token>@…` (VERP);
    /// nil keeps `from` as the envelope sender.
    public var verp: VERPAddress?
    /// Signs each copy's tracked links under `tracking.clicks = "per-reader"`; nil otherwise.
    public var clickReaderKey: ClickReaderKey?
    /// How refusals at send time count, the same rule as the bounce mailbox's.
    public var bounceRule: BounceRule { BounceRule(softBounceLimit: bounceAfter, softBounceWindow: bounceWindow) }
    /// Rows claimed from the ledger at a time, per worker.
    public var batchSize = 25
    /// Resolves subscribers' topic choices to the frozen variant they get.
    public var topics = TopicAliases()

    public init(from: MailAddress, listID: String, publicURL: String) {
        self.from = from
        self.listID = listID
        self.publicURL = publicURL
    }
}

/// What one run did.
public struct DeliverySummary: Sendable, Equatable {
    public var sent = 0
    public var deferred = 0
    public var failed = 0
    /// Rows of subscribers who left before their copy went out, or whose topics have no comparison.
    public var skipped = 0
    /// Rows a crashed run had left in flight, sent again by this one.
    public var resumed = 0
    /// The week's ledger after the run.
    public var ledger: [DeliveryState: Int] = [:]
    /// True when nothing is left pending or deferred: the issue is sent.
    public var complete = false
    /// Other senders still live when this one finished (a shared database): the rows still
    /// `sending` are theirs.
    public var otherSenders = 0

    /// This sender is done and the issue is not: nothing waits for a next run, the rest is in
    /// other live senders' hands.
    public var leftToOtherSenders: Bool {
        !complete && otherSenders > 0 && (ledger[.pending] ?? 0) == 0 && (ledger[.deferred] ?? 0) == 0
    }

    static func isComplete(_ ledger: [DeliveryState: Int]) -> Bool {
        (ledger[.pending] ?? 0) + (ledger[.deferred] ?? 0) + (ledger[.sending] ?? 0) == 0
    }
}

public enum DeliveryError: Error, CustomStringConvertible {
    case notApproved(IssueWeek, IssueStatus?)
    case serverUnavailable(String, DeliverySummary)
    /// The ledger could not be read or could not record an outcome (a full disk, a database that
    /// went away): the run stopped, and what it had recorded stands.
    case storeFailed(String, DeliverySummary)

    public var description: String {
        switch self {
        case .notApproved(let week, let status):
            "\(week) is \(status.map { "a \($0.rawValue) issue" } ?? "not built"): only an approved issue is sent. Preview and approve it first (`newsletter approve --week \(week)`)."
        case .serverUnavailable(let reason, let summary):
            "the mail server failed, so the run stopped: \(reason). \(summary.sent) sent before that; everyone else is still pending for the next run."
        case .storeFailed(let reason, let summary):
            "the store failed, so the run stopped: \(reason). \(summary.sent) sent and recorded before that; everyone else is still pending. Free space on the store's disk (or bring its database back) and run again."
        }
    }

    /// What a command that sends exits with.
    public var exitStatus: ExitStatus {
        switch self {
        case .notApproved: .notApproved
        case .serverUnavailable: .mailServerUnavailable
        case .storeFailed: .storeError
        }
    }
}
