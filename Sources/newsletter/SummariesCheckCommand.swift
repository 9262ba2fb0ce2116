import ArgumentParser
import Foundation
import NewsletterCore

extension Summaries {
    /// `newsletter summaries check`: the guard on a sentence or a summary someone wrote.
    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the summary guard on your own text against a comparison page.",
            discussion: """
                PAGE is a page file or an http(s) URL, read as `ingest --dry-run` reads it. The text \
                comes from --text, else standard input. With --tool it is checked as that tool's \
                sentence (the per-tool checks a model's reply gets); without, as the whole summary. \
                Exit status 0: accepted; 1: refused, one line per reason naming the check and the \
                words it objects to; 64: bad input (no text, an unknown tool, an unreadable page).

                --labelled FILE runs the guard over a labelled set instead (Tests/NewsletterCoreTests/\
                Fixtures/labelled-summaries.json) and prints accepted and refused per kind.
                """
        )

        @OptionGroup var global: GlobalOptions
        @Argument(help: ArgumentHelp("The comparison page: a file or an http(s) URL.", valueName: "page"))
        var page: String?
        @Option(help: ArgumentHelp("Check the text as this tool's sentence.", valueName: "name")) var tool: String?
        @Option(help: "The text to check (else standard input).") var text: String?
        @Flag(help: "Print the verdict as JSON.") var json = false
        @Option(help: ArgumentHelp("Measure the guard on a labelled set (JSON) instead.", valueName: "file"))
        var labelled: String?
        @Option(
            help: ArgumentHelp(
                "Where a labelled set's sample pages are (default: $NEWSLETTER_SAMPLE_PAGES, else ../shared/sample-pages).",
                valueName: "directory"))
        var samplePages: String?
        @Option(help: ArgumentHelp("Where a labelled set's example pages are.", valueName: "directory"))
        var examples = "examples"
        @Flag(help: "With --labelled: also list the tuned part's rows the guard gets wrong.") var misses = false

        func validate() throws {
            if labelled == nil && page == nil {
                throw ValidationError("give the PAGE to check against (or --labelled FILE)")
            }
            if labelled != nil && (page != nil || tool != nil || text != nil) {
                throw ValidationError("--labelled measures a whole set: it takes no PAGE, --tool or --text")
            }
        }

        func run() async throws {
            let context = try global.components()
            let ingester = Ingester(
                store: nil, fetcher: context.fetcher(), options: IngestOptions(dryRun: true), logger: context.logger)
            func read(_ page: String) async throws -> Comparison {
                let results = await ingester.ingest([page])
                if let comparison = results.first?.comparison, results.count == 1 { return comparison }
                let reason = results.first?.error.map { "\($0)" } ?? "it holds \(results.count) pages, not one"
                throw ValidationError("cannot read the page \(page): \(reason)")
            }
            if let labelled { return try await measure(labelled, read: read) }
            let comparison = try await read(page!)
            let raw = try text ?? standardInput()
            let verdict: GuardVerdict
            do {
                verdict = try GuardVerdict.check(raw, tool: tool, in: comparison)
            } catch {
                throw ValidationError("\(error)")
            }
            if json {
                print(try JSONOutput.string(verdict))
            } else if verdict.accepted {
                print("accepted\(verdict.tool.map { " as \($0)'s sentence" } ?? " as the summary")")
            } else {
                for reason in verdict.reasons { print("\(reason.check): \(reason.message)") }
            }
            if !verdict.accepted { throw ExitStatus.partialFailure }
        }

        private func standardInput() throws -> String {
            guard isatty(STDIN_FILENO) == 0 else {
                throw ValidationError("give the text with --text or on standard input")
            }
            return String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        }

        private func measure(_ file: String, read: (String) async throws -> Comparison) async throws {
            let set: LabelledSummaries
            do {
                set = try LabelledSummaries(contentsOf: URL(fileURLWithPath: file))
            } catch {
                throw ValidationError("cannot read the labelled set \(file): \(error)")
            }
            let samples =
                samplePages ?? ProcessInfo.processInfo.environment["NEWSLETTER_SAMPLE_PAGES"]
                ?? "../shared/sample-pages"
            func path(_ row: LabelledSummaries.Row) -> String {
                URL(fileURLWithPath: row.folder == "sample" ? samples : examples).appendingPathComponent(row.page).path
            }
            // Each page read once, before the set is measured against them.
            var comparisons: [String: Comparison] = [:]
            for row in set.rows where comparisons[path(row)] == nil {
                comparisons[path(row)] = try await read(path(row))
            }
            let measurement = try set.measure { row in comparisons[path(row)]! }
            print(measurement.table())
            if misses { for line in measurement.misses(heldOut: false) { print(line) } }
        }
    }
}
