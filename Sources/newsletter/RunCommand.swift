import ArgumentParser
import Foundation
import Logging
import NewsletterCore

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "The weekly job for cron: ingest, build the week's issue, and send it once approved.",
        discussion: """
            Ingests ingest.sources, builds and freezes the week's draft (default: issue.week, the \
            week that just ended), and sends it if it is approved or run.approval = "auto"; \
            otherwise mails each of run.editors a preview copy (once per draft) and exits 4. \
            Without --week (as cron runs it), weeks since the last run that no run saw are sent \
            late or skipped (run.missed), and a week past run.cutoff is not sent. A week named \
            with --week is the editor's decision: it is built (and sent once approved) however \
            late, even if an earlier run skipped it. Safe to run as often as you like: \
            nothing is sent twice and an interrupted run is finished by the next one. Ends with a \
            one-line summary. Exit status: 0 sent or nothing to do; 1 partly done (deferred \
            recipients, a failed source or preview mail: run again); 4 waiting for approval; 69 \
            the mail server failed; 74 the store or the outbox failed; 75 another run or send is \
            going on; 78 bad configuration or templates.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var week: WeekOption

    func run() throws {
        let clock = ContinuousClock()
        let started = clock.now
        let context = try global.context()
        let settings = context.configuration
        let target = week.resolve(settings)
        let delivery = try context.deliverySettings()
        try context.requireOneClickUnsubscribeURL()
        let templates = try context.loadTemplates()
        let store = try context.openStore()
        // Opened here, so everything below works on the store itself, whichever backend.
        func proceed(_ store: some NewsletterStore) throws {
            // One run at a time per data directory (SQLite) or per database (PostgreSQL, so two
            // hosts' cron entries decide once); the lock goes with its holder however it dies.
            let ran: Void?
            do {
                ran = try store.withRunLock(target, dataDirectory: settings.dataDirectory) { hold in
                    try decide(store, hold: hold)
                }
            } catch {
                Terminal.printError("\(error)")
                finish("\(target) not run: the run lock could not be taken: \(error)", status: .storeError, context: context)
            }
            if ran == nil {
                Terminal.printError("another `newsletter run` holds the run lock (\(store.locationDescription))")
                finish("\(target) not run: another `newsletter run` is going on", status: .busy, context: context)
            }
        }

        func decide(_ store: some NewsletterStore, hold: any WeekLockHold) throws {
            // What the bounce mailbox learnt since the last run, before anyone is mailed again.
            if let mailbox = settings.bounces.mailbox { Self.fetchBounces(mailbox, store: store, context: context) }

            let fetcher = CurlFetcher(
                maxBytes: settings.ingest.maxPageBytes, timeoutSeconds: settings.ingest.timeoutSeconds,
                connectTimeoutSeconds: settings.ingest.connectTimeoutSeconds, userAgent: settings.ingest.userAgent)
            var weeklyRun = WeeklyRun(
                store: store, templates: templates, configuration: settings, delivery: delivery, fetcher: fetcher,
                logger: context.logger)
            weeklyRun.lockHold = hold
            // The model runtime starts only if a summary is not stored yet; it is stopped before
            // finish(), which exits without unwinding.
            let (chain, supervisor) = SummaryChain.configured(settings.summaries, store: store)
            weeklyRun.summarizer = chain
            weeklyRun.summaryObserver = { event in context.logger.debug("summary", metadata: ["event": "\(event)"]) }
            let observer = RunProgress(progress: Terminal.isInteractive ? ProgressBar(verb: "Running") : nil)
            let report: RunReport
            do {
                report = try weeklyRun.run(
                    target: target, request: week.week == nil ? .scheduled : .named, observer: observer)
            } catch {
                supervisor?.stop()
                observer.progress?.clear()
                Terminal.printError("\(error)")
                let status: ExitStatus =
                    switch error {
                    case .sendRunning, .lockLost: .busy
                    case .outboxUnwritable, .store: .storeError
                    }
                finish("\(target) stopped: \(error)", status: status, context: context, since: started)
            }
            supervisor?.stop()
            observer.progress?.clear()
            for failure in report.ingest.failed { Terminal.printError(failure) }
            var parts = report.weeks.map { WeeklyRun<AppDatabase, CurlFetcher>.describe($0.week, $0.outcome) }
            parts.append(Self.describe(report.ingest))
            finish(parts.joined(separator: "; "), status: report.exitStatus, context: context, since: started)
        }
        try proceed(store)
    }

    /// A mailbox that cannot be read does not stop the run: the bounces wait in it for the next.
    private static func fetchBounces(_ mailbox: MailboxClient.Settings, store: some BounceStore, context: CommandContext) {
        do {
            if let summary = try BounceCLI.fetch(mailbox, store: store, context: context) {
                print("bounces: \(summary.description)")
                for refusal in summary.refused { Terminal.printError("bounce refused: \(refusal)") }
            } else {
                context.logger.notice("bounce fetch skipped: another fetch holds the mailbox")
            }
        } catch {
            Terminal.printError("bounces not fetched: \(error)")
            context.logger.warning("bounce fetch failed", metadata: ["error": "\(error)"])
        }
    }

    /// Prints the one-line summary (the last line, what cron mail shows first when it is short),
    /// logs it, and exits with `status`.
    private func finish(
        _ summary: String, status: ExitStatus, context: CommandContext, since started: ContinuousClock.Instant? = nil
    ) -> Never {
        let seconds = started.map { ContinuousClock.now - $0 }.map {
            Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18
        }
        let line =
            "newsletter run: \(Self.word(status)) — \(summary)\(seconds.map { String(format: " (%.1f s)", $0) } ?? "")"
        context.logger.notice(
            "run finished",
            metadata: ["status": "\(Self.word(status))", "exit": "\(status.rawValue)", "summary": "\(summary)"])
        print(line)
        Foundation.exit(status.rawValue)
    }

    static func word(_ status: ExitStatus) -> String {
        switch status {
        case .success: "ok"
        case .partialFailure: "PARTIAL"
        case .notApproved: "waiting for approval"
        case .mailServerUnavailable: "MAIL SERVER FAILED"
        case .busy: "busy"
        case .storeError: "STORE/OUTBOX FAILED"
        case .configurationError: "CONFIGURATION ERROR"
        case .nothingToBuild: "nothing to build"
        case .usage: "usage"
        case .summariesUnavailable: "SUMMARIES UNAVAILABLE"
        }
    }

    static func describe(_ ingest: RunReport.Ingested) -> String {
        if ingest.skipped { return "ingest: no ingest.sources configured" }
        var text = "ingest: \(ingest.pages) page\(ingest.pages == 1 ? "" : "s"), \(ingest.new) new"
        if ingest.updated > 0 { text += ", \(ingest.updated) updated" }
        if !ingest.failed.isEmpty { text += ", \(ingest.failed.count) FAILED" }
        return text
    }
}

/// A progress bar over the run's pages and messages on a terminal; silent otherwise (the log
/// lines tell the story there).
final class RunProgress: RunObserver {
    let progress: ProgressBar?

    init(progress: ProgressBar?) {
        self.progress = progress
    }

    func stage(_ stage: String, week: IssueWeek?) {
        progress?.print("\(stage)\(week.map { " \($0)" } ?? "")…")
    }

    func discovered(_ count: Int) { progress?.add(total: count) }

    func finished(_ result: IngestResult) {
        progress?.advance(URL(fileURLWithPath: result.source).lastPathComponent)
    }

    func started(total: Int) { progress?.add(total: total) }

    func delivered(_ email: String, outcome: SendOutcome) { progress?.advance(email) }
}
