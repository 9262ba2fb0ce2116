import ArgumentParser
import Foundation
import Logging
import NewsletterCore

struct Ingest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read comparison pages into the store.",
        discussion: """
            A SOURCE is a page file, a directory (its *.txt, *.html and *.htm files, recursively), \
            an http(s) URL of a page, or the path or URL of an Atom or RSS feed whose entries link \
            to pages. With no SOURCE, reads ingest.sources from the configuration.

            Ingesting a page again changes nothing; a page whose content changed is updated. A \
            source that fails is reported and the others are still ingested; the exit status is \
            then 1.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Parse only: store nothing.")
    var dryRun = false

    @Flag(help: "Print the parsed records as one JSON array (with --dry-run), or the results as JSON.")
    var json = false

    @Option(
        help: ArgumentHelp(
            "Force the format instead of detecting it: \(SourceFormat.allCases.map(\.rawValue).joined(separator: ", ")).",
            valueName: "format"))
    var format: SourceFormat = .auto

    @Option(
        help: ArgumentHelp(
            "Published time for pages that give none (e.g. 2026-11-17 or 2026-11-17T09:00:00Z).", valueName: "date"))
    var published: String?

    @Argument(help: ArgumentHelp("Files, directories, URLs or feeds.", valueName: "source"))
    var sources: [String] = []

    func validate() throws {
        if let published, PublishedDate.parse(published) == nil {
            throw ValidationError(
                "--published: \"\(published)\" is not a date; use e.g. 2026-11-17 or 2026-11-17T09:00:00Z")
        }
    }

    func run() async throws {
        let context = try global.components()
        let settings = context.configuration
        let sources = self.sources.isEmpty ? settings.ingest.sources : self.sources
        guard !sources.isEmpty else {
            throw ValidationError("no SOURCE given and ingest.sources is empty in the configuration")
        }
        // A dry run opens no store at all.
        if dryRun {
            try await ingest(into: AppDatabase?.none, sources: sources, context: context)
        } else {
            try await context.withStore { store in try await ingest(into: store, sources: sources, context: context) }
        }
    }

    private func ingest<Store: ComparisonStore>(into store: Store?, sources: [String], context: Components) async throws
    {
        let settings = context.configuration
        let options = IngestOptions(
            format: format, publishedFallback: published.flatMap(PublishedDate.parse), dryRun: dryRun,
            maxPageBytes: settings.ingest.maxPageBytes)
        let ingester = Ingester(store: store, fetcher: context.fetcher(), options: options, logger: context.logger)

        let report = IngestReporter(json: json, logger: context.logger)
        let results = await ingester.ingest(sources, observer: report)
        report.finish(results)
        if dryRun && json {
            print(try JSONOutput.string(results.compactMap(\.comparison)))
        } else if json {
            print(try JSONOutput.string(results.map(IngestResult.Record.init)))
        }
        if results.contains(where: { $0.error != nil }) {
            throw ExitStatus.partialFailure
        }
    }
}

/// Reports each page as it is done: a progress bar and plain lines on a terminal, log lines
/// otherwise. With --json, standard output is left to the JSON.
final class IngestReporter: IngestObserver {
    let json: Bool
    let logger: Logger
    let progress: ProgressBar?

    init(json: Bool, logger: Logger) {
        self.json = json
        self.logger = logger
        self.progress = Terminal.isInteractive ? ProgressBar(verb: "Ingesting") : nil
    }

    func discovered(_ count: Int) {
        progress?.add(total: count)
    }

    func finished(_ result: IngestResult) {
        progress?.advance(URL(fileURLWithPath: result.source).lastPathComponent)
        switch result.outcome {
        case .failed(let error):
            logger.error(
                "page failed",
                metadata: [
                    "source": "\(error.source)", "line": "\(error.line.map(String.init) ?? "")",
                    "kind": "\(error.kind.rawValue)", "error": "\(error.message)",
                ])
            if progress != nil {
                progress?.clear()
                Terminal.printError("\(error)")
            }
        case .saved(let outcome, let comparison):
            logger.info(
                "page stored",
                metadata: [
                    "source": "\(result.source)", "outcome": "\(outcome.word)", "id": "\(outcome.id)",
                    "title": "\(comparison.title)",
                ])
            emit(outcome.line(comparison))
        case .parsed(let comparison):
            logger.info(
                "page parsed",
                metadata: [
                    "source": "\(result.source)", "title": "\(comparison.title)", "takes": "\(comparison.takes.count)",
                ])
            emit(
                "parsed     \(comparison.title) (\(comparison.layout.rawValue), \(comparison.takes.count) takes)  \(result.source)"
            )
        }
    }

    func finish(_ results: [IngestResult]) {
        progress?.clear()
        let line = IngestResult.summary(results)
        logger.info("ingest finished", metadata: ["summary": "\(line)"])
        if !json { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }
    }

    private func emit(_ line: String) {
        guard !json else { return }
        if let progress { progress.print(line) } else { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }
    }
}

extension SourceFormat: ExpressibleByArgument {}

enum JSONOutput {
    static func string(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}
