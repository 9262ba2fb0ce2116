import ArgumentParser
import Foundation
import Logging
import NewsletterCore

struct RunCommand: AsyncParsableCommand {
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

    func run() async throws {
        let started = ContinuousClock.now
        let context = try global.components()
        let settings = context.configuration
        let target = week.resolve(settings)
        let delivery = try context.delivery()
        try settings.requireOneClickUnsubscribeURL()
        let templates = try context.templates()
        // Opened here, so everything below works on the store itself, whichever backend.
        func proceed(_ store: some NewsletterStore) async -> ExitStatus {
            // One run at a time per data directory (SQLite) or per database (PostgreSQL, so two
            // hosts' cron entries decide once); the lock goes with its holder however it dies.
            // The status comes out of the lock, so the lock and the store are let go before exit.
            do {
                let decided = try await store.withRunLock(target, dataDirectory: settings.dataDirectory) { hold in
                    await decide(store, hold: hold)
                }
                if let decided { return decided }
                Terminal.printError("another `newsletter run` holds the run lock (\(store.locationDescription))")
                return finish(
                    "\(target) not run: another `newsletter run` is going on", status: .busy, context: context)
            } catch {
                Terminal.printError("\(error)")
                return finish(
                    "\(target) not run: the run lock could not be taken: \(error)", status: .storeError,
                    context: context)
            }
        }

        func decide(_ store: some NewsletterStore, hold: any WeekLockHold) async -> ExitStatus {
            // What the bounce mailbox learnt since the last run, before anyone is mailed again.
            if let mailbox = settings.bounces.mailbox {
                await Self.fetchBounces(mailbox, store: store, context: context)
            }

            var weeklyRun = WeeklyRun(
                store: store, templates: templates, configuration: settings, delivery: delivery,
                fetcher: context.fetcher(), logger: context.logger)
            weeklyRun.lockHold = hold
            // The model runtime starts only if a summary is not stored yet.
            let (chain, supervisor) = context.summaryChain(store: store)
            defer { supervisor?.stop() }
            weeklyRun.summarizer = chain
            weeklyRun.summaryObserver = { event in context.logger.debug("summary", metadata: ["event": "\(event)"]) }
            let observer = RunProgress(progress: Terminal.isInteractive ? ProgressBar(verb: "Running") : nil)
            let report: RunReport
            do {
                report = try await weeklyRun.run(
                    target: target, request: week.week == nil ? .scheduled : .named, observer: observer)
            } catch {
                observer.progress?.clear()
                Terminal.printError("\(error)")
                return finish("\(target) stopped: \(error)", status: error.exitStatus, context: context, since: started)
            }
            observer.progress?.clear()
            for failure in report.ingest.failed { Terminal.printError(failure) }
            return finish(report.summary, status: report.exitStatus, context: context, since: started)
        }
        let status = try await context.withStore { store in await proceed(store) }
        if status != .success { throw status }
    }

    /// A mailbox that cannot be read does not stop the run: the bounces wait in it for the next.
    private static func fetchBounces(_ mailbox: MailboxClient.Settings, store: some BounceStore, context: Components)
        async
    {
        do {
            if let summary = try await context.fetchBounces(mailbox, store: store, observer: BounceCLI.Printer()) {
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
    /// logs it, and returns `status` for the root command to exit with.
    private func finish(
        _ summary: String, status: ExitStatus, context: Components, since started: ContinuousClock.Instant? = nil
    ) -> ExitStatus {
        let seconds = started.map { ContinuousClock.now - $0 }.map {
            Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18
        }
        let line =
            "newsletter run: \(status.runWord) — \(summary)\(seconds.map { String(format: " (%.1f s)", $0) } ?? "")"
        context.logger.notice(
            "run finished",
            metadata: ["status": "\(status.runWord)", "exit": "\(status.rawValue)", "summary": "\(summary)"])
        print(line)
        return status
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
