import ArgumentParser
import Foundation
import Logging
import NewsletterCore
import Synchronization

struct Summaries: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Edit a week's summaries, or evaluate the summarizer on a set of pages.",
        subcommands: [Edit.self, Eval.self, Check.self]
    )

    struct Edit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replace a comparison's summary in a week's issue with your own text.",
            discussion: """
                The text comes from --text, else standard input when it is not a terminal, else \
                $EDITOR. It wins over any generated summary; `newsletter preview --week WEEK` then \
                rebuilds the draft (an approved week needs --rebuild). --remove goes back to the \
                generated summary.
                """
        )

        @OptionGroup var global: GlobalOptions
        @Argument(help: ArgumentHelp("The ISO week, e.g. 2026-W47.", valueName: "week")) var week: String
        @Argument(help: ArgumentHelp("The comparison's id (`newsletter comparisons list`).", valueName: "comparison"))
        var comparison: Int64
        @Option(help: "The new summary.") var text: String?
        @Flag(help: "Drop the override: the generated summary shows again.") var remove = false

        func validate() throws {
            do { _ = try IssueWeek(parsing: week) } catch { throw ValidationError("WEEK: \(error)") }
            if remove && text != nil { throw ValidationError("--remove and --text exclude each other") }
        }

        func run() async throws {
            let context = try global.components()
            let week = try! IssueWeek(parsing: self.week)
            // Opened here, so the edit works on the store itself, whichever backend.
            func proceed<Store: NewsletterStore>(_ store: Store) async throws {
                let edits = SummaryEdits(store: store)
                do {
                    if remove {
                        let removed = try await edits.revert(
                            week: week, comparisonID: comparison, scope: .anyComparison)
                        print(
                            removed
                                ? "\(week) #\(comparison): override removed" : "\(week) #\(comparison) had no override")
                        return
                    }
                    let raw: String
                    if let text {
                        raw = text
                    } else {
                        raw = try readText(current: try await edits.current(week: week, comparisonID: comparison))
                    }
                    let replaced = try await edits.replace(
                        week: week, comparisonID: comparison, with: raw, scope: .anyComparison)
                    print(
                        "\(week) #\(comparison) \(replaced.title): summary stored (\(replaced.text.count) characters)")
                    print("Rebuild the draft with: newsletter preview --week \(week)")
                } catch let error as SummaryEditError {
                    switch error {
                    case .noComparison:
                        Terminal.printError("\(error); `newsletter comparisons list` shows the ids")
                    default:
                        Terminal.printError("\(error)")
                    }
                    throw ExitStatus.partialFailure
                }
            }
            try await context.withStore { store in try await proceed(store) }
        }

        private func readText(current: PanelSummary?) throws -> String {
            if isatty(STDIN_FILENO) == 0 {
                return String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            }
            let editor = ProcessInfo.processInfo.environment["VISUAL"] ?? ProcessInfo.processInfo.environment["EDITOR"]
            guard let editor, !editor.isEmpty else {
                throw ValidationError("give the summary with --text, on standard input, or set $EDITOR")
            }
            let file = FileManager.default.temporaryDirectory.appendingPathComponent(
                "newsletter-summary-\(UUID().uuidString).txt")
            try Data((current?.text ?? "").utf8).write(to: file)
            defer { try? FileManager.default.removeItem(at: file) }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "\(editor) \"$1\"", "editor", file.path]
            try process.run()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                throw ValidationError("\(editor) exited with status \(process.terminationStatus); nothing was stored")
            }
            return try String(contentsOf: file, encoding: .utf8)
        }
    }

    struct Eval: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run each summary provider over pages and report how often the guard accepts it.",
            discussion: """
                Reads each SOURCE like `ingest --dry-run` (nothing is stored, no cache is used) and asks \
                every provider of the configured chain for each comparison, with the configured \
                attempts. Prints per provider and model: acceptance (pages and replies), guard \
                failures by kind, tokens per second from llama-server's timings, and wall time.
                """
        )

        @OptionGroup var global: GlobalOptions
        @Option(help: ArgumentHelp("A GGUF model for the local runtime instead of summaries.model.", valueName: "path"))
        var model: String?
        @Flag(help: "Print the report as JSON (scripts/bench-summaries.sh reads it).") var json = false
        @Flag(help: "Print every reply and the guard's verdict on it.") var verbose = false
        @Argument(help: ArgumentHelp("Page files, directories or URLs.", valueName: "source")) var sources: [String]

        func run() async throws {
            let context = try global.components()
            var settings = context.configuration
            if let model { settings.summaries.model = URL(fileURLWithPath: model).standardizedFileURL.path }
            let ingester = Ingester(
                store: nil, fetcher: context.fetcher(), options: IngestOptions(dryRun: true), logger: context.logger)
            var comparisons: [Comparison] = []
            for result in await ingester.ingest(sources) {
                if let error = result.error { Terminal.printError("\(error)") }
                // The HTML page and its text dump are one comparison: evaluate it once.
                if let comparison = result.comparison,
                    !comparisons.contains(where: { $0.recordHash == comparison.recordHash })
                {
                    comparisons.append(comparison)
                }
            }
            guard !comparisons.isEmpty else {
                throw CommandError(.partialFailure, "no comparison could be read from the sources")
            }
            let (chain, supervisor) = SummaryChain.configured(settings.summaries, store: nil)
            defer { supervisor?.stop() }
            guard !chain.providers.isEmpty else {
                throw CommandError(
                    .configurationError,
                    "summaries.enabled is false or the chain has no model provider; nothing to evaluate")
            }
            let bar = Terminal.isInteractive && !json ? ProgressBar(verb: "Evaluating") : nil
            bar?.add(total: comparisons.count * chain.providers.count)
            let report = await chain.evaluate(comparisons) { provider, comparison, trials in
                if verbose { printTrials(trials, title: comparison.title, bar: bar) }
                bar?.advance("\(provider.name): \(comparison.title)")
                context.logger.info(
                    "evaluated", metadata: ["provider": "\(provider.name)", "comparison": "\(comparison.title)"])
            }
            bar?.clear()
            print(try json ? JSONOutput.string(report) : report.table)
        }

        private func printTrials(_ trials: [SummaryTrial], title: String, bar: ProgressBar?) {
            for trial in trials {
                let verdict =
                    trial.error.map { "error: \($0)" }
                    ?? (trial.accepted
                        ? "accepted" : "rejected: " + trial.rejections.map(\.description).joined(separator: "; "))
                let part = trial.part.map { " (\($0))" } ?? (trial.joinedText != nil ? " (joined)" : "")
                let line =
                    "[\(trial.provider) #\(trial.attempt)\(part)] \(title): \(verdict)\n    \(trial.text?.replacingOccurrences(of: "\n", with: " ") ?? "")"
                if let bar { bar.print(line) } else { print(line) }
            }
        }
    }
}

/// Shows what the summarizer does: a progress bar on a terminal, logfmt lines otherwise.
final class SummaryProgress: Sendable {
    private let bar: ProgressBar?
    private let logger: Logger
    private let seen = Mutex<Set<String>>([])

    init(interactive: Bool, logger: Logger) {
        self.bar = interactive ? ProgressBar(verb: "Summarizing") : nil
        self.logger = logger
    }

    func handle(_ event: SummaryEvent) {
        switch event {
        case .attempt(let comparison, let provider, let number):
            countIfNew(comparison)
            logger.debug(
                "summary attempt",
                metadata: ["comparison": "\(comparison)", "provider": "\(provider)", "attempt": "\(number)"])
        case .rejected(let comparison, let provider, let reasons):
            logger.info(
                "summary rejected by the guard",
                metadata: [
                    "comparison": "\(comparison)", "provider": "\(provider)",
                    "reasons": "\(reasons.map(\.description).joined(separator: "; "))",
                ])
        case .providerFailed(let comparison, let provider, let error):
            logger.warning(
                "summary provider failed",
                metadata: ["comparison": "\(comparison)", "provider": "\(provider)", "error": "\(error)"])
        case .finished(let comparison, let summary, let fromCache, let usage):
            countIfNew(comparison)
            bar?.advance(comparison)
            logger.info(
                "summary ready",
                metadata: [
                    "comparison": "\(comparison)", "provider": "\(summary.provider)",
                    "kind": "\(summary.kind.rawValue)",
                    "model": "\(summary.model ?? "-")", "ms": "\(summary.milliseconds ?? 0)", "cached": "\(fromCache)",
                    "requests": "\(usage.requests)", "prompt_tokens": "\(usage.promptTokens)",
                    "prompt_ms": "\(Int(usage.promptMilliseconds))", "predicted_tokens": "\(usage.predictedTokens)",
                    "predicted_ms": "\(Int(usage.predictedMilliseconds))",
                ])
        }
    }

    func finish() { bar?.clear() }

    private func countIfNew(_ comparison: String) {
        if seen.withLock({ $0.insert(comparison).inserted }) { bar?.add(total: 1) }
    }
}
