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

struct Preview: ParsableCommand {
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

    func run() throws {
        let context = try global.components()
        let settings = context.configuration
        let week = self.week.resolve(settings)
        let templates = try context.templates()
        let store = try context.openStore()
        // Opened here, so everything below works on the store itself, whichever backend.
        func proceed<Store: NewsletterStore>(_ store: Store) throws {
            // The model runtime starts only if a summary is not stored yet, and stops when we return.
            let (chain, supervisor) = SummaryChain.configured(settings.summaries, store: store)
            defer { supervisor?.stop() }
            let progress = SummaryProgress(interactive: Terminal.isInteractive, logger: context.logger)
            let preview = IssuePreview(
                store: store, templates: templates, settings: settings.issue, outboxDirectory: settings.outboxDirectory,
                summarizer: chain, summaryObserver: { progress.handle($0) })
            let result: IssuePreview<Store>.Result
            do {
                defer { progress.finish() }
                result = try preview.preview(week, force: force, rebuild: rebuild)
            } catch let error as PreviewError {
                throw error
            } catch let error as IssueStoreError {
                throw error
            } catch {
                throw CommandError(.storeError, "the store could not save the draft, so nothing changed: \(error)")
            }
            let draft = result.draft
            print(
                "\(week): \(result.items.count) comparison\(result.items.count == 1 ? "" : "s"), draft \(draft.hash.prefix(12))\(result.stillApproved ? " (unchanged, still approved)" : "")"
            )
            for (index, item) in result.items.enumerated() {
                let summary = item.summary
                let made =
                    summary.kind == .extractive || summary.kind == .edited
                    ? summary.kind.rawValue : "\(summary.kind.rawValue) by \(summary.provider)"
                print(
                    "  \(index + 1). #\(item.stored.id) \(item.stored.comparison.title)  [summary: \(made)\(summary.kind.isFallback ? ", fallback" : "")]"
                )
            }
            if !result.selection.leftOut.isEmpty {
                print(
                    "  left out (over issue.max_comparisons): \(result.selection.leftOut.map { "#\($0)" }.joined(separator: ", "))"
                )
            }
            if !result.selection.alreadyFeatured.isEmpty {
                print(
                    "  already featured by a sent issue: \(result.selection.alreadyFeatured.map { "#\($0)" }.joined(separator: ", "))"
                )
            }
            let size = draft.html.utf8.count
            print(
                "  HTML \(size / 1024) KB\(size > 100 * 1024 ? " — over the 100 KB budget: Gmail clips messages near 102 KB" : "")"
            )
            if let variants = draft.variants?.variants, variants.count > 1 {
                print("  \(variants.count) variants, one per topic choice with readers:")
                for variant in variants {
                    let holds =
                        variant.isEmpty
                        ? "no comparison: its readers are skipped" : "\(variant.comparisonIDs.count) comparison(s)"
                    print("    \(variant.id)  \(variant.choice)  \(variant.readers) reader(s), \(holds)")
                }
            }
            for file in result.files { print("  wrote \(file)") }
            if !result.stillApproved {
                print("Approve it with: newsletter approve --week \(week) --hash \(draft.hash.prefix(12))")
            }
            // A missing runtime is a notice, not a failure: the fallbacks ship. Unless strict.
            var unavailable: [String: Set<String>] = [:]
            for outcome in result.summaryOutcomes {
                for (provider, reason) in outcome.unavailable { unavailable[reason, default: []].insert(provider) }
            }
            for (reason, providers) in unavailable.sorted(by: { $0.key < $1.key }) {
                Terminal.writeError(
                    "newsletter: notice: summary provider \(providers.sorted().joined(separator: ", ")) could not run: \(reason). Summaries marked fallback were used instead.\n"
                )
            }
            if !unavailable.isEmpty && settings.summaries.strict {
                throw CommandError(.summariesUnavailable, "summaries.strict is set and a summary provider could not run")
            }
        }
        try proceed(store)
    }
}

struct Approve: ParsableCommand {
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
        if let hash, hash.count < 6 || !hash.allSatisfy(\.isHexDigit) {
            throw ValidationError("--hash: \"\(hash)\" is not a draft hash; give at least its first 6 hex digits")
        }
    }

    func run() throws {
        let context = try global.components()
        let week = self.week.resolve(context.configuration)
        let store = try context.openStore()
        guard let issue = try store.issue(week), let hash = issue.draftHash else {
            throw CommandError(.partialFailure, IssueStoreError.noDraft(week).description)
        }
        if let expected = self.hash, !hash.hasPrefix(expected.lowercased()) {
            throw CommandError(.partialFailure, IssueStoreError.draftChanged(week, stored: hash, expected: expected).description)
        }
        if issue.status == .approved && issue.approvedHash == hash {
            print("\(week) is already approved (\(hash.prefix(12)))")
            return
        }
        try store.approve(week, hash: hash, at: Date())
        print("\(week) approved: draft \(hash.prefix(12)), \"\(issue.subject ?? "")\"")
    }
}

struct Issues: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the issues: drafts, approvals, skips and sends.")

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let store = try global.components().openStore()
        let issues = try store.listIssues()
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
                            approvedHash: $0.approvedHash, skipReason: $0.skipReason, comparisonIDs: $0.comparisonIDs,
                            summaryKinds: Self.summaryKinds(manifest: $0.manifest))
                    }))
            return
        }
        if issues.isEmpty { print("No issues yet; `newsletter preview` builds one.") }
        for issue in issues {
            let detail = issue.status == .skipped ? (issue.skipReason ?? "") : (issue.subject ?? "")
            let kinds = Self.summaryKinds(manifest: issue.manifest).map { kinds in
                "  [summaries: "
                    + kinds.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ") + "]"
            }
            print(
                "\(issue.week)  \(issue.status.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0))  \(detail)\(kinds ?? "")"
            )
        }
    }

    /// Counts the kinds of summary in a draft's issue.json (abstractive, grammar-extractive,
    /// extractive, edited); nil for drafts from before summaries had kinds.
    static func summaryKinds(manifest: String?) -> [String: Int]? {
        guard let manifest, let object = try? JSONSerialization.jsonObject(with: Data(manifest.utf8)) as? [String: Any],
            let comparisons = object["comparisons"] as? [[String: Any]]
        else { return nil }
        var counts: [String: Int] = [:]
        for comparison in comparisons {
            guard let kind = (comparison["summary"] as? [String: Any])?["kind"] as? String else { return nil }
            counts[kind, default: 0] += 1
        }
        return counts.isEmpty ? nil : counts
    }
}
