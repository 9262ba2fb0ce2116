import Foundation

/// What `newsletter status` says about a week: its pages, summaries, approval, ledger, the last
/// run and its errors, the live senders, and what a run started now would do. Reads only.
public struct WeekStatusReport: Encodable, Sendable {
    public struct Page: Encodable, Sendable {
        public var id: Int64
        public var title: String
        public var summaryProvider: String?
    }
    public struct LastRun: Encodable, Sendable {
        public var firstRunAt: Date
        public var lastRunAt: Date
        public var outcome: String
        public var summary: String?
    }
    public var week: String
    public var window: [Date]
    public var issue: String
    public var subject: String?
    public var skipReason: String?
    public var draftHash: String?
    public var approved: Bool
    public var approvedAt: Date?
    public var sentAt: Date?
    public var approval: String
    /// What a run started now would do with this week.
    public var nextRun: String
    public var pages: [Page]
    public var summaryProviders: [String: Int]
    public var editorsMailed: [String]
    public var ledger: [String: Int]
    public var lastRun: LastRun?
    public var lastErrors: [String]
    /// What bounces and complaints said about this week's issue.
    public var bounces: BounceTally?
    public var bounceWarnings: [String] = []
    /// The processes sending this week now (a shared database's senders).
    public var senders: [Sender] = []
    /// Each relay: how it stands and its share of the week's messages.
    public var relays: [RelayStatus] = []
    /// Webhook endpoints disabled for failing, with why: they hear nothing until enabled again.
    public var disabledWebhooks: [String] = []

    public struct Sender: Encodable, Sendable {
        public var id: String
        public var host: String
        public var pid: Int32
        public var startedAt: Date
        public var claimed: Int
        public var sent: Int
        public var leaseDeadline: Date
    }

    /// The week as the store has it now.
    public static func make(_ week: IssueWeek, store: some NewsletterStore, settings: Configuration, now: Date)
        async throws
        -> WeekStatusReport
    {
        let issue = try await store.issue(week)
        let record = try await store.runRecord(week)
        let state = RunSchedule.WeekState(
            status: issue?.status, skipReason: issue?.skipReason, deliveryStarted: try await store.deliveryBegun(week),
            firstRunAt: record?.firstRunAt)
        let decision = RunSchedule.decide(
            week, state: state, now: now, timeZone: settings.timeZone, cutoff: settings.run.cutoff,
            missed: settings.run.missed)
        let providers = manifestProviders(issue?.manifest)
        var pages: [Page] = []
        for id in issue?.comparisonIDs ?? [] {
            let title = try await store.comparison(id: id)?.comparison.title ?? "(deleted)"
            pages.append(Page(id: id, title: title, summaryProvider: providers[id]))
        }
        var counts: [String: Int] = [:]
        for (state, count) in try await store.deliveryCounts(week) { counts[state.rawValue] = count }
        var errors: [String] = []
        if let error = record?.lastError { errors.append("last run: \(error)") }
        for state in [DeliveryState.failed, .deferred] {
            for reply in try await store.deliveryReplies(week, state: state).prefix(5) {
                errors.append("\(state.rawValue): \(reply.email): \(reply.reply)")
            }
        }
        let approved = issue?.approvedHash != nil && issue?.approvedHash == issue?.draftHash
        let window = week.window(in: settings.timeZone)
        let bounces = try await store.bounceTally(week)
        var editorsMailed: [String] = []
        if let hash = issue?.draftHash { editorsMailed = try await store.editorsMailed(week, draftHash: hash).sorted() }
        var report = WeekStatusReport(
            week: week.description, window: [window.start, window.end], issue: issue?.status.rawValue ?? "none",
            subject: issue?.subject, skipReason: issue?.skipReason, draftHash: issue?.draftHash, approved: approved,
            approvedAt: approved ? issue?.approvedAt : nil, sentAt: issue?.sentAt,
            approval: settings.run.approval.rawValue,
            nextRun: describe(decision, week: week, approved: approved, settings: settings),
            pages: pages,
            summaryProviders: Dictionary(pages.compactMap(\.summaryProvider).map { ($0, 1) }, uniquingKeysWith: +),
            editorsMailed: editorsMailed,
            ledger: counts,
            lastRun: record.map {
                LastRun(
                    firstRunAt: $0.firstRunAt, lastRunAt: $0.lastRunAt,
                    outcome: $0.lastOutcome == "running" ? "running, or interrupted" : $0.lastOutcome,
                    summary: $0.lastSummary)
            }, lastErrors: errors)
        report.bounces = bounces
        report.bounceWarnings = bounces.warnings
        report.relays = try await RelayStatus.of(
            week, configured: settings.smtp.relays(concurrency: 1).map(\.name), store: store, now: now)
        report.disabledWebhooks = try await store.webhookEndpoints().filter { !$0.enabled }.map {
            "endpoint \($0.id) (\($0.url)) disabled: \($0.disabledReason ?? ""); `newsletter webhooks enable \($0.id)`"
        }
        report.senders = try await store.liveSenders(week, at: now).map {
            Sender(
                id: $0.sender.id.uuidString.lowercased(), host: $0.sender.host, pid: $0.sender.pid,
                startedAt: $0.startedAt,
                claimed: $0.claimed, sent: $0.sent, leaseDeadline: $0.leaseDeadline)
        }
        return report
    }

    /// Each featured comparison's summary provider, from the frozen draft's issue.json.
    static func manifestProviders(_ manifest: String?) -> [Int64: String] {
        var providers: [Int64: String] = [:]
        for item in IssueRecord.manifestComparisons(manifest) {
            if let id = (item["id"] as? NSNumber)?.int64Value, let summary = item["summary"] as? [String: Any],
                let provider = summary["provider"] as? String
            {
                providers[id] = provider
            }
        }
        return providers
    }

    /// What cron's run would do with the week now, and, where the schedule would set it aside,
    /// that an editor who names the week still can have it built.
    static func describe(_ decision: RunSchedule.Decision, week: IssueWeek, approved: Bool, settings: Configuration)
        -> String
    {
        switch decision {
        case .alreadySent: "nothing: sent"
        case .alreadySkipped(let reason):
            "nothing: skipped (\(reason)); `newsletter run --week \(week)` builds it anyway"
        case .finishSending: "finish sending (delivery has begun)"
        case .pastCutoff(let reason), .skipMissed(let reason):
            "skip it: \(reason); `newsletter run --week \(week)` builds it anyway"
        case .send:
            approved || settings.run.approval == .auto
                ? "build and send" : "build the draft and wait for approval (run.approval = manual)"
        }
    }

    /// The report as lines for a person.
    public var text: String {
        let report = self
        var lines = ["\(report.week)  \(report.issue)\(report.subject.map { "  \"\($0)\"" } ?? "")"]
        if let reason = report.skipReason { lines.append("  skipped: \(reason)") }
        if let hash = report.draftHash {
            lines.append(
                "  draft \(hash.prefix(12)): \(report.approved ? "approved" : "NOT approved") (run.approval = \(report.approval))"
                    + (report.editorsMailed.isEmpty
                        ? "" : "; preview mailed to \(report.editorsMailed.joined(separator: ", "))"))
        }
        if let sent = report.sentAt { lines.append("  sent at \(sent.formatted(.iso8601))") }
        lines.append("  a run now would: \(report.nextRun)")
        for (index, page) in report.pages.enumerated() {
            lines.append("  \(index + 1). #\(page.id) \(page.title)  [summary: \(page.summaryProvider ?? "?")]")
        }
        let ledger = DeliveryState.allCases.map { "\(report.ledger[$0.rawValue] ?? 0) \($0.rawValue)" }
        lines.append("  ledger: \(ledger.joined(separator: ", "))")
        for sender in report.senders {
            lines.append(
                "  sender \(sender.id.prefix(8)) on \(sender.host) (pid \(sender.pid)): \(sender.claimed) claimed, \(sender.sent) sent, lease until \(sender.leaseDeadline.formatted(.iso8601))"
            )
        }
        for relay in report.relays { lines.append("  relay \(relay.line)") }
        if let run = report.lastRun {
            lines.append(
                "  last run: \(run.lastRunAt.formatted(.iso8601)) \(run.outcome)\(run.summary.map { ": \($0)" } ?? "")")
        } else {
            lines.append("  last run: none")
        }
        if let bounces = report.bounces { lines.append("  bounces: \(bounces.summary)") }
        for warning in report.bounceWarnings { lines.append("  warning: \(warning)") }
        for error in report.lastErrors { lines.append("  error: \(error)") }
        for webhook in report.disabledWebhooks { lines.append("  webhook: \(webhook)") }
        return lines.joined(separator: "\n")
    }
}
