import ArgumentParser
import Foundation
import NewsletterCore

struct Bounces: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Bounces and complaints: fetch them from the bounce mailbox, import files, list what was learnt.",
        subcommands: [Fetch.self, Import.self, List.self]
    )

    struct Fetch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read the bounce mailbox (bounces.mailbox_url, IMAP or POP3) and process every message.",
            discussion: """
                Each message is stored before it is deleted from the mailbox, so an interrupted \
                fetch loses nothing and the next one counts nothing twice. Messages that are not \
                usable (malformed, about no one on the list) stay in the mailbox and are named. \
                Exit status: 0 done; 1 some messages refused; 69 the mailbox could not be read; \
                74 the store failed; 75 another fetch is going on; 78 no mailbox configured.
                """)

        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let context = try global.components()
            guard let mailbox = context.configuration.bounces.mailbox else {
                throw CommandError(
                    .configurationError,
                    "no bounce mailbox configured: set bounces.mailbox_url (and bounces.username, NEWSLETTER_BOUNCES_PASSWORD)"
                )
            }
            try await context.withStore { store in
                guard let summary = try await context.fetchBounces(mailbox, store: store, observer: BounceCLI.Printer())
                else {
                    throw CommandError(.busy, "another `bounces fetch` (or run) is reading the mailbox")
                }
                try BounceCLI.finish(summary, verb: "fetched")
            }
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Process bounce and complaint messages from .eml or mbox files.",
            discussion:
                "Exit status: 0 every message used (or already stored); 1 some refused, each named with its file and reason."
        )

        @OptionGroup var global: GlobalOptions
        @Argument(help: ArgumentHelp("Files: one message each (.eml) or mbox.", valueName: "file"))
        var files: [String]

        func validate() throws {
            if files.isEmpty { throw ValidationError("name at least one .eml or mbox file") }
        }

        func run() async throws {
            let context = try global.components()
            func importFiles(into store: some BounceStore) async throws -> BounceIntakeSummary {
                try await context.bounceProcessor(store: store).importFiles(
                    files, observer: BounceCLI.Printer())
            }
            try await context.withStore { store in
                try BounceCLI.finish(try await importFiles(into: store), verb: "imported")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "What bounces and complaints said: hard, soft, policy, auto-replies, complaints and the complaint rate."
        )

        @OptionGroup var global: GlobalOptions
        @Option(help: ArgumentHelp("Only this ISO week's issue, e.g. 2026-W48 (default: all).", valueName: "week"))
        var week: String?
        @Option(help: "How many of the latest reports to list.") var limit = 20
        @Flag(help: "Print JSON.") var json = false

        func validate() throws {
            if let week {
                do { _ = try IssueWeek(parsing: week) } catch { throw ValidationError("--week: \(error)") }
            }
        }

        func run() async throws {
            let context = try global.components()
            try await context.withStore { store in
                let week = try self.week.map { try IssueWeek(parsing: $0) }
                let tally = try await store.bounceTally(week)
                let recent = try await store.recentBounces(week, limit: limit)
                if json {
                    struct Report: Encodable {
                        var week: String?
                        var tally: BounceTally
                        var complaintRate: Double?
                        var complaintRateTooHigh: Bool
                        var recent: [StoredBounce]
                    }
                    print(
                        try JSONOutput.string(
                            Report(
                                week: week?.description, tally: tally, complaintRate: tally.complaintRate,
                                complaintRateTooHigh: tally.complaintRateTooHigh, recent: recent)))
                    return
                }
                print("\(week?.description ?? "all issues"): \(tally.summary)")
                print("  \(tally.markedBounced) marked bounced, \(tally.unsubscribed) unsubscribed by complaints")
                for warning in tally.warnings { print("  warning: \(warning)") }
                for bounce in recent {
                    print(
                        "  \(bounce.receivedAt.formatted(.iso8601)) \(bounce.week ?? "-") \(bounce.kind.rawValue) \(bounce.email ?? "(unknown)") \(bounce.status ?? "") [\(bounce.source.rawValue)] \(bounce.effect == "none" ? "" : "→ \(bounce.effect)") \(bounce.diagnostic.map { String($0.prefix(100)) } ?? "")"
                    )
                }
            }
        }
    }
}

/// What `bounces fetch`, `bounces import` and `run` share.
enum BounceCLI {
    static func finish(_ summary: BounceIntakeSummary, verb: String) throws {
        print("bounces \(verb): \(summary.description)")
        for refusal in summary.refused { Terminal.printError("refused: \(refusal)") }
        if !summary.refused.isEmpty { throw ExitStatus.partialFailure }
    }
    /// One line per message on a terminal.
    struct Printer: BounceIntakeObserver {
        func started(total: Int) {}
        func processed(_ place: String, outcome: String) {
            if Terminal.isInteractive { print("  \(place): \(outcome)") }
        }
    }
}
