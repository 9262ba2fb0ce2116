import ArgumentParser
import Foundation
import NewsletterCore
import Synchronization

struct Send: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send the week's approved issue to every confirmed subscriber, each exactly once.",
        discussion: """
            Uses SMTP when smtp.url is set, else writes one .eml per recipient under \
            outbox/<week>/messages/. Resumable: a run takes up whatever an earlier run left \
            pending or deferred. Exit status: 0 every recipient handled; 1 some deferred or \
            failed (run again later); 4 the issue is not approved; 69 the mail server failed \
            (nothing more was sent; run again); 74 the store could not be read or could not \
            record a delivery (nothing more was sent; run again once it is fixed); 75 another \
            send is running.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var week: WeekOption
    @Flag(help: "Say what would be sent; send nothing and leave the ledger alone.")
    var dryRun = false
    @Option(help: ArgumentHelp("Send at most this many messages in this run.", valueName: "n"))
    var limit: Int?
    @Option(
        help: ArgumentHelp(
            "Send one test copy to this address instead; the ledger is left alone.", valueName: "address"))
    var to: String?

    func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
        if let to {
            do { _ = try MailAddress(to) } catch { throw ValidationError("--to: \(error)") }
        }
    }

    func run() async throws {
        let context = try global.components()
        let settings = context.configuration
        let week = self.week.resolve(settings)
        let delivery = try context.delivery()
        if !dryRun { try context.configuration.requireOneClickUnsubscribeURL() }
        try await context.withStore { store in
            // Opened here, so everything below works on the store itself, whichever backend.
            func proceed(_ store: some NewsletterStore) async throws {
                let mailer = Mailer(store: store, settings: delivery, logger: context.logger)
                let transport = settings.transport(for: week)

                if let to {
                    let outcome = try await mailer.sendTest(week, to: try MailAddress(to), through: transport)
                    print("test send of \(week) to \(to): \(outcome)")
                    if case .sent = outcome { return }
                    throw ExitStatus.partialFailure
                }
                if dryRun {
                    print(
                        try await store.sendDryRun(
                            week, transport: settings.relays(for: week).map(\.name).joined(separator: ", ")))
                    return
                }
                let lock = try SendLock.take(for: store, path: SendLock.path(dataDirectory: settings.dataDirectory))
                defer { withExtendedLifetime(lock) {} }
                let progress = Terminal.isInteractive ? ProgressBar(verb: "Sending") : nil
                let observer = SendProgress(progress: progress)
                do {
                    let summary = try await mailer.send(
                        week, through: settings.relays(for: week), limit: limit, observer: observer)
                    progress?.clear()
                    print(summary.line(week))
                    for failure in try await store.deliveryReplies(week, state: .failed).prefix(10) {
                        print("  failed: \(failure.email): \(failure.reply)")
                    }
                    if !summary.complete && !summary.leftToOtherSenders && limit == nil {
                        throw ExitStatus.partialFailure
                    }
                } catch let error as DeliveryError {
                    progress?.clear()
                    throw error
                }
            }
            try await proceed(store)
        }
    }
}

final class SendProgress: DeliveryObserver {
    let progress: ProgressBar?

    init(progress: ProgressBar?) {
        self.progress = progress
    }

    func started(total: Int) { progress?.add(total: total) }

    func delivered(_ email: String, outcome: SendOutcome) { progress?.advance(email) }
    func skipped(_ email: String, reason: String) { progress?.advance(email) }
}

/// `make bench`'s first row: personalised messages rendered and encoded per second, in memory.
struct BenchmarkEncode: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "benchmark-encode", abstract: "Time personalising and encoding the week's issue (for make bench).",
        shouldDisplay: false)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var week: WeekOption
    @Option var count = 20000
    @Flag(help: "Fill and encode each whole message (the encoder before issue 16), not splice.")
    var reference = false

    func run() async throws {
        let context = try global.components()
        let week = self.week.resolve(context.configuration)
        let delivery = try context.configuration.deliverySettings()
        guard let issue = try await context.withStore({ try await $0.issue(week) }), let html = issue.html,
            let text = issue.text
        else {
            throw ValidationError("\(week) has no draft; preview it first")
        }
        let benchmark = EncodeBenchmark(subject: issue.subject ?? "", html: html, text: text, delivery: delivery)
        print(try benchmark.run(count: count, reference: reference).line)
    }
}
