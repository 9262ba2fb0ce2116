import Foundation
import Logging

/// Whether a built draft needs an editor's approval before the run sends it.
public enum ApprovalPolicy: String, Sendable, Equatable, CaseIterable {
    /// The run builds the draft, mails the editors a preview and waits for `approve`.
    case manual
    /// The run approves its own draft and sends it.
    case auto
}

/// `[run]` in the configuration.
public struct RunSettings: Sendable, Equatable {
    public var approval: ApprovalPolicy = .manual
    /// Who gets a preview copy of each new draft (manual approval).
    public var editors: [String] = []
    /// How long after a week's end its issue may still go out; nil: no limit.
    public var cutoff: RunCutoff?
    public var missed: MissedWeekPolicy = .skip

    public init() {}
}

/// Hears about the run as it goes: stages, then the ingest's pages and the send's messages.
public protocol RunObserver: IngestObserver, DeliveryObserver {
    func stage(_ stage: String, week: IssueWeek?)
}

/// What became of one week in a run.
public enum WeekOutcome: Sendable, Equatable {
    /// Every recipient handled (some may have failed permanently).
    case sent(DeliverySummary, lateBy: TimeInterval)
    /// Sent to some; others were deferred and wait for the next run.
    case incomplete(DeliverySummary)
    /// This run's share is sent; the rest is in other live senders' hands (a shared database).
    case leftToOtherSenders(DeliverySummary)
    case waitingForApproval(draftHash: String, editorsMailed: [String], editorsFailed: [String: String])
    /// Set aside with a reason (cutoff, missed, too few comparisons), now or by an earlier run.
    case skipped(reason: String)
    case nothingToDo(reason: String)
    /// The mail server failed; nothing more was sent.
    case serverUnavailable(reason: String, DeliverySummary)

    public var word: String {
        switch self {
        case .sent: "sent"
        case .incomplete: "incomplete"
        case .leftToOtherSenders: "left-to-other-senders"
        case .waitingForApproval: "waiting-for-approval"
        case .skipped: "skipped"
        case .nothingToDo: "nothing-to-do"
        case .serverUnavailable: "server-unavailable"
        }
    }

    /// The exit status this outcome alone would give.
    public var exitStatus: ExitStatus {
        switch self {
        case .sent: .success
        case .incomplete: .partialFailure
        case .leftToOtherSenders: .success
        case .waitingForApproval(_, _, let failed): failed.isEmpty ? .notApproved : .partialFailure
        case .skipped, .nothingToDo: .success
        case .serverUnavailable: .mailServerUnavailable
        }
    }
}

/// What a whole run did.
public struct RunReport: Sendable {
    public struct Ingested: Sendable, Equatable {
        public var pages = 0
        public var new = 0
        public var updated = 0
        public var failed: [String] = []
        /// No sources configured: nothing was read.
        public var skipped = false
    }

    public var ingest = Ingested()
    public var weeks: [(week: IssueWeek, outcome: WeekOutcome)] = []

    /// The most serious outcome decides; a failed source turns success into a partial failure.
    public var exitStatus: ExitStatus {
        let severity: [ExitStatus] = [.mailServerUnavailable, .partialFailure, .notApproved, .success]
        var worst = ExitStatus.success
        for (_, outcome) in weeks {
            let status = outcome.exitStatus
            if severity.firstIndex(of: status)! < severity.firstIndex(of: worst)! { worst = status }
        }
        if worst == .success && !ingest.failed.isEmpty { return .partialFailure }
        return worst
    }
}

/// A run that cannot go on at all: the store or the outbox failed, or a send is running.
public enum RunError: ExitStatusProviding, CustomStringConvertible {
    case outboxUnwritable(IssueWeek, String)
    case sendRunning(String)
    case store(String)
    /// The run lock went with its database session: another run may be deciding now.
    case lockLost(String)

    public var exitStatus: ExitStatus {
        switch self {
        case .sendRunning, .lockLost: .busy
        case .outboxUnwritable, .store: .storeError
        }
    }

    public var description: String {
        switch self {
        case .outboxUnwritable(_, let reason):
            "\(reason); nothing was sent and the store still holds the previous draft: free space in the outbox and run again"
        case .sendRunning(let reason):
            "a `newsletter send` is running (\(reason)); this run built the draft but left sending to it. Run again when it is done."
        case .store(let reason):
            "the store failed: \(reason). Whatever was recorded before stands; run again once it is fixed."
        case .lockLost(let reason):
            reason
        }
    }
}

/// The weekly job: ingest the configured sources, then for each due week decide (cutoff, missed
/// weeks), build and freeze the draft, and send it if approved (or approve it under
/// `run.approval = "auto"`); otherwise mail the editors a preview, once per draft.
///
/// Every step is idempotent, so a run interrupted anywhere is finished by the next one: ingest
/// stores each page once, the draft is frozen by its hash, and the ledger resumes.
public struct WeeklyRun<Store: NewsletterStore, Fetcher: ResourceFetching>: Sendable {
    public var store: Store
    public var templates: TemplateSet
    public var configuration: Configuration
    public var delivery: DeliverySettings
    public var fetcher: Fetcher
    public var logger: Logger
    /// Where the sending phase takes `send`'s own lock.
    public var sendLockPath: String
    /// The run lock this run holds (`NewsletterStore.withRunLock`): asked before each decision,
    /// so a run whose database session ended under it decides nothing more.
    public var lockHold: (any WeekLockHold)?
    /// The summary provider chain (`SummaryChain.configured`); the deterministic one by default.
    public var summarizer: SummaryChain = .deterministic
    public var summaryObserver: (@Sendable (SummaryEvent) -> Void)?

    public init(
        store: Store, templates: TemplateSet, configuration: Configuration, delivery: DeliverySettings,
        fetcher: Fetcher, logger: Logger
    ) {
        self.store = store
        self.templates = templates
        self.configuration = configuration
        self.delivery = delivery
        self.fetcher = fetcher
        self.logger = logger
        self.sendLockPath = SendLock.path(dataDirectory: configuration.dataDirectory)
    }

    var settings: RunSettings { configuration.run }

    /// Runs `target`. A scheduled run (cron's) first handles the weeks since the last run that
    /// no run ever saw, under the cutoff and `run.missed`; a week an editor named is run alone,
    /// and those rules do not apply to it (`WeekRequest`).
    public func run(
        target: IssueWeek, request: WeekRequest, now: Date = Date(), observer: (any RunObserver)? = nil
    ) async throws(RunError) -> RunReport {
        var report = RunReport()
        report.ingest = await ingest(observer: observer)
        var weeks: [(IssueWeek, WeekRequest)] = []
        do {
            if request == .scheduled {
                weeks = RunSchedule.missedWeeks(after: try await store.lastRunWeek(), before: target).map {
                    ($0, .scheduled)
                }
            }
            weeks.append((target, request))
        } catch {
            throw .store("\(error)")
        }
        for (week, request) in weeks {
            let outcome = try await runWeek(week, request: request, now: now, observer: observer)
            report.weeks.append((week, outcome))
            // A mail server that is down for one week is down for the next.
            if case .serverUnavailable = outcome { break }
        }
        return report
    }

    func ingest(observer: (any RunObserver)?) async -> RunReport.Ingested {
        var ingested = RunReport.Ingested()
        let sources = configuration.ingest.sources
        guard !sources.isEmpty else {
            ingested.skipped = true
            return ingested
        }
        observer?.stage("ingest", week: nil)
        let ingester = Ingester(
            store: store, fetcher: fetcher, options: IngestOptions(maxPageBytes: configuration.ingest.maxPageBytes),
            logger: logger)
        for result in await ingester.ingest(sources, observer: observer) {
            ingested.pages += 1
            switch result.outcome {
            case .saved(.inserted, _): ingested.new += 1
            case .saved(.updated, _): ingested.updated += 1
            case .failed(let error): ingested.failed.append("\(error)")
            default: break
            }
        }
        logger.info(
            "ingest finished",
            metadata: [
                "pages": "\(ingested.pages)", "new": "\(ingested.new)", "updated": "\(ingested.updated)",
                "failed": "\(ingested.failed.count)",
            ])
        return ingested
    }

    func runWeek(_ week: IssueWeek, request: WeekRequest, now: Date, observer: (any RunObserver)?)
        async throws(RunError)
        -> WeekOutcome
    {
        do {
            let issue = try await store.issue(week)
            let state = RunSchedule.WeekState(
                status: issue?.status, skipReason: issue?.skipReason,
                deliveryStarted: try await store.deliveryBegun(week),
                firstRunAt: try await store.runRecord(week)?.firstRunAt)
            let decision = RunSchedule.decide(
                week, state: state, now: now, timeZone: configuration.timeZone, cutoff: settings.cutoff,
                missed: settings.missed, request: request)
            logger.info(
                "week decided", metadata: ["week": "\(week)", "request": "\(request)", "decision": "\(decision)"])
            try await store.beginRun(week, at: now)
            let outcome: WeekOutcome
            do {
                outcome = try await act(on: decision, week: week, lateBy: Self.lateness(decision), observer: observer)
            } catch {
                // Whatever stopped the week, status must say so rather than "running".
                try? await store.finishRun(week, outcome: "error", summary: "\(error)", error: "\(error)", at: Date())
                throw error
            }
            try await store.finishRun(
                week, outcome: outcome.word, summary: outcome.summary(for: week), error: Self.error(in: outcome),
                at: Date())
            return outcome
        } catch let error as RunError {
            throw error
        } catch let lost as WeekLockLost {
            throw .lockLost(lost.description)
        } catch {
            throw .store("\(error)")
        }
    }

    /// Before each decision: is the run lock still this run's?
    private func ensureLockHeld() async throws {
        try await lockHold?.ensureHeld()
    }

    static func lateness(_ decision: RunSchedule.Decision) -> TimeInterval {
        if case .send(let lateBy) = decision { return lateBy }
        return 0
    }

    private func act(
        on decision: RunSchedule.Decision, week: IssueWeek, lateBy: TimeInterval, observer: (any RunObserver)?
    )
        async throws -> WeekOutcome
    {
        switch decision {
        case .alreadySent:
            return .nothingToDo(reason: "already sent")
        case .alreadySkipped(let reason):
            return .skipped(reason: reason)
        case .pastCutoff(let reason), .skipMissed(let reason):
            try await ensureLockHeld()
            try await store.recordSkipped(week, reason: reason)
            logger.notice("week skipped", metadata: ["week": "\(week)", "reason": "\(reason)"])
            return .skipped(reason: reason)
        case .send, .finishSending:
            break
        }
        if decision != .finishSending {
            observer?.stage("preview", week: week)
            try await ensureLockHeld()
            if let early = try await buildDraft(week) { return early }
        }
        guard let issue = try await store.issue(week), let hash = issue.draftHash else {
            return .nothingToDo(reason: "no draft")
        }
        try await ensureLockHeld()
        if issue.approvedHash != hash {
            guard settings.approval == .auto else { return try await mailEditors(week, issue: issue, hash: hash) }
            try await store.approve(week, hash: hash, at: Date())
            logger.notice("draft approved by run.approval = auto", metadata: ["week": "\(week)", "hash": "\(hash)"])
        }
        return try await send(week, lateBy: lateBy, observer: observer)
    }

    /// Builds and freezes the draft; returns an outcome when there is nothing to send.
    private func buildDraft(_ week: IssueWeek) async throws -> WeekOutcome? {
        let preview = IssuePreview(
            store: store, templates: templates, settings: configuration.issue,
            outboxDirectory: configuration.outboxDirectory, summarizer: summarizer, summaryObserver: summaryObserver)
        do {
            // Under auto approval the run's own approval may be rebuilt until sending begins.
            let result = try await preview.preview(week, rebuild: settings.approval == .auto)
            // A runtime that could not run is a warning, not a failure: the fallbacks ship.
            for outcome in result.summaryOutcomes {
                for (provider, reason) in outcome.unavailable {
                    logger.warning(
                        "summary provider could not run; a fallback was used",
                        metadata: ["week": "\(week)", "provider": "\(provider)", "reason": "\(reason)"])
                }
            }
            logger.info(
                "draft built",
                metadata: [
                    "week": "\(week)", "hash": "\(result.draft.hash)", "comparisons": "\(result.items.count)",
                    "summaries": "\(Set(result.items.map(\.summary.provider)).sorted().joined(separator: ","))",
                ])
            return nil
        } catch let error as PreviewError {
            switch error {
            case .tooFewComparisons(_, _, let reason): return .skipped(reason: reason)
            case .nothingToBuild, .emptyStore: return .nothingToDo(reason: "\(error)")
            case .alreadySent: return .nothingToDo(reason: "already sent")
            case .approvedDraftWouldChange:
                // The editor approved exactly the stored bytes: those are what goes out.
                logger.warning("draft changed since approval; sending the approved one", metadata: ["week": "\(week)"])
                return nil
            case .tooManyVariants:
                // An approved set of variants goes out as approved (new choices map onto it or
                // are skipped); an unapproved week waits for the editor to merge topics.
                if try await store.issue(week)?.approvedHash != nil { return nil }
                throw error
            case .outboxUnwritable:
                let reason = "\(error)"
                throw RunError.outboxUnwritable(week, reason.hasSuffix(".") ? String(reason.dropLast()) : reason)
            }
        } catch IssueStoreError.sendingStarted {
            return nil
        }
    }

    /// One preview copy per editor per draft hash; the run then waits for `approve`.
    private func mailEditors(_ week: IssueWeek, issue: IssueRecord, hash: String) async throws -> WeekOutcome {
        let already = try await store.editorsMailed(week, draftHash: hash)
        let mailer = Mailer(store: store, settings: delivery, logger: logger)
        let transport = configuration.transport(for: week)
        var mailed: [String] = []
        var failed: [String: String] = [:]
        for editor in settings.editors where !already.contains(editor.lowercased()) {
            do {
                let outcome = try await mailer.sendTest(
                    week, to: try MailAddress(editor), through: transport, subjectPrefix: "[preview, not approved] ")
                guard case .sent = outcome else {
                    failed[editor] = "\(outcome)"
                    continue
                }
                try await store.recordEditorMailed(week, draftHash: hash, editor: editor, at: Date())
                mailed.append(editor)
                logger.info("preview mailed to editor", metadata: ["week": "\(week)", "editor": "\(editor)"])
            } catch let error as TransportUnavailable {
                failed[editor] = error.reason
            } catch let error as MailError {
                // One editor's bad address must not stop the others' previews or the run.
                failed[editor] = "\(error)"
            }
        }
        for (editor, reason) in failed {
            logger.error("preview could not be mailed", metadata: ["editor": "\(editor)", "reason": "\(reason)"])
        }
        return .waitingForApproval(draftHash: hash, editorsMailed: mailed, editorsFailed: failed)
    }

    private func send(_ week: IssueWeek, lateBy: TimeInterval, observer: (any RunObserver)?) async throws
        -> WeekOutcome
    {
        let lock: RunLock?
        do {
            lock = try SendLock.take(for: store, path: sendLockPath)
        } catch {
            throw RunError.sendRunning("\(error)")
        }
        defer { withExtendedLifetime(lock) {} }
        observer?.stage("send", week: week)
        let mailer = Mailer(store: store, settings: delivery, logger: logger)
        do {
            let summary = try await mailer.send(week, through: configuration.relays(for: week), observer: observer)
            if summary.complete { return .sent(summary, lateBy: lateBy) }
            return summary.leftToOtherSenders ? .leftToOtherSenders(summary) : .incomplete(summary)
        } catch DeliveryError.serverUnavailable(let reason, let summary) {
            return .serverUnavailable(reason: reason, summary)
        } catch DeliveryError.storeFailed(let reason, let summary) {
            // The ledger, not the mail server: the run stops as a store failure (exit 74).
            throw RunError.store("\(reason); \(summary.counts)")
        }
    }

    static func error(in outcome: WeekOutcome) -> String? {
        switch outcome {
        case .serverUnavailable(let reason, _): reason
        case .waitingForApproval(_, _, let failed) where !failed.isEmpty:
            failed.sorted { $0.key < $1.key }.map { "preview to \($0.key): \($0.value)" }.joined(separator: "; ")
        default: nil
        }
    }
}

extension WeekOutcome {
    /// The outcome in a few words, for the run's summary line and `status`.
    public func summary(for week: IssueWeek) -> String {
        switch self {
        case .sent(let summary, let lateBy):
            let late = lateBy >= 3600 ? " (\(RunSchedule.describe(lateBy)) after the week ended)" : ""
            return "\(week) sent\(late): \(summary.counts)"
        case .incomplete(let summary):
            return "\(week) partly sent, the rest is deferred to the next run: \(summary.counts)"
        case .leftToOtherSenders(let summary):
            return
                "\(week) this run's share is done, the rest is being sent by \(summary.otherSenders) other sender(s): \(summary.counts)"
        case .waitingForApproval(let hash, let mailed, let failed):
            var text = "\(week) waiting for approval of draft \(hash.prefix(12))"
            if !mailed.isEmpty { text += ", preview mailed to \(mailed.joined(separator: ", "))" }
            if !failed.isEmpty { text += ", preview NOT mailed to \(failed.keys.sorted().joined(separator: ", "))" }
            return text + "; approve with `newsletter approve --week \(week) --hash \(hash.prefix(12))`"
        case .skipped(let reason): return "\(week) skipped: \(reason)"
        case .nothingToDo(let reason): return "\(week) nothing to do: \(reason)"
        case .serverUnavailable(let reason, let summary):
            return
                "\(week) stopped, the mail server failed (\(reason)): \(summary.counts); the rest waits for the next run"
        }
    }
}

extension DeliverySummary {
    /// "3 sent, 1 deferred, ledger 3/4 sent".
    var counts: String {
        var parts = ["\(sent) sent"]
        if deferred > 0 { parts.append("\(deferred) deferred") }
        if failed > 0 { parts.append("\(failed) failed") }
        if skipped > 0 { parts.append("\(skipped) skipped") }
        if resumed > 0 { parts.append("\(resumed) resumed") }
        parts.append("ledger \(ledger[.sent] ?? 0)/\(ledger.values.reduce(0, +)) sent")
        return parts.joined(separator: ", ")
    }
}
