import ArgumentParser
import Foundation
import NewsletterCore

/// `--week W`, shared by the issue commands.
struct WeekOption: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "The ISO week, e.g. 2026-W48 (default: issue.week in the configuration, the week that just ended).",
            valueName: "week"))
    var week: String?

    func validate() throws {
        if let week {
            do { _ = try IssueWeek(parsing: week) } catch { throw ValidationError("--week: \(error)") }
        }
    }

    func resolve(_ configuration: Configuration) -> IssueWeek {
        if let week { return try! IssueWeek(parsing: week) }
        return configuration.defaultWeek.week(at: Date(), in: configuration.timeZone)
    }
}

struct Preview: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Build the week's draft and write outbox/<week>/preview.html, preview.txt and issue.json.",
        discussion: """
            Selects the comparisons published in the week (in time_zone) that no earlier sent issue \
            featured, most divided panel first, summarizes and renders them with templates/. The \
            same week from the same store and templates gives the same bytes. Exit status 3: the \
            week has too few comparisons (the skip and its reason are recorded) or nothing to build.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var week: WeekOption
    @Flag(help: "Build the issue even when the week has fewer comparisons than issue.min_comparisons.")
    var force = false
    @Flag(help: "Rebuild an approved week whose draft would change; drops the approval.")
    var rebuild = false

    func run() async throws {
        let context = try global.components()
        let settings = context.configuration
        let week = self.week.resolve(settings)
        let templates = try context.templates()
        try await context.withStore { store in
            // Opened here, so everything below works on the store itself, whichever backend.
            func proceed<Store: NewsletterStore>(_ store: Store) async throws {
                // The model runtime starts only if a summary is not stored yet, and stops when we return.
                let (chain, supervisor) = SummaryChain.configured(settings.summaries, store: store)
                defer { supervisor?.stop() }
                let progress = SummaryProgress(interactive: Terminal.isInteractive, logger: context.logger)
                let preview = IssuePreview(
                    store: store, templates: templates, settings: settings.issue,
                    outboxDirectory: settings.outboxDirectory,
                    summarizer: chain, summaryObserver: { progress.handle($0) })
                let result: IssuePreview<Store>.Result
                do {
                    defer { progress.finish() }
                    result = try await preview.preview(week, force: force, rebuild: rebuild)
                } catch let error as PreviewError {
                    throw error
                } catch let error as IssueStoreError {
                    throw error
                } catch {
                    throw CommandError(.storeError, "the store could not save the draft, so nothing changed: \(error)")
                }
                for line in result.text(week) { print(line) }
                // A missing runtime is a notice, not a failure: the fallbacks ship. Unless strict.
                let unavailable = result.unavailableProviders
                for (reason, providers) in unavailable {
                    Terminal.writeError(
                        "newsletter: notice: summary provider \(providers.joined(separator: ", ")) could not run: \(reason). Summaries marked fallback were used instead.\n"
                    )
                }
                if !unavailable.isEmpty && settings.summaries.strict {
                    throw CommandError(
                        .summariesUnavailable, "summaries.strict is set and a summary provider could not run")
                }
            }
            try await proceed(store)
        }
    }
}

struct Approve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Approve the week's stored draft: exactly those bytes are what will be sent."
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var week: WeekOption
    @Option(
        help: ArgumentHelp(
            "The draft hash `preview` printed (a prefix will do): approve only if the stored draft is still that one.",
            valueName: "hash"))
    var hash: String?

    func validate() throws {
        if let hash {
            do { _ = try IssueApproval.expectedHash(hash) } catch { throw ValidationError("--hash: \(error)") }
        }
    }

    func run() async throws {
        let context = try global.components()
        let week = self.week.resolve(context.configuration)
        try await context.withStore { store in
            let approved: IssueApproval.Approved
            do {
                approved = try await IssueApproval(store: store, actor: "cli").approve(week, expecting: hash)
            } catch let error as IssueApprovalError {
                throw CommandError(.partialFailure, error.description)
            }
            if approved.already {
                print("\(week) is already approved (\(approved.hash.prefix(12)))")
            } else {
                print("\(week) approved: draft \(approved.hash.prefix(12)), \"\(approved.issue.subject ?? "")\"")
            }
        }
    }
}

struct Issues: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the issues: drafts, approvals, skips and sends.")

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        try await global.components().withStore { store in
            let issues = try await store.listIssues()
            if json {
                struct Row: Encodable {
                    var week: String
                    var status: String
                    var subject: String?
                    var draftHash: String?
                    var approvedHash: String?
                    var skipReason: String?
                    var comparisonIDs: [Int64]
                    /// How many of the draft's summaries are of each kind (abstractive, fallbacks, edited).
                    var summaryKinds: [String: Int]?
                }
                print(
                    try JSONOutput.string(
                        issues.map {
                            Row(
                                week: $0.week.description, status: $0.status.rawValue, subject: $0.subject,
                                draftHash: $0.draftHash,
                                approvedHash: $0.approvedHash, skipReason: $0.skipReason,
                                comparisonIDs: $0.comparisonIDs,
                                summaryKinds: $0.summaryKinds)
                        }))
                return
            }
            if issues.isEmpty { print("No issues yet; `newsletter preview` builds one.") }
            for issue in issues { print(issue.listLine) }
        }
    }
}
