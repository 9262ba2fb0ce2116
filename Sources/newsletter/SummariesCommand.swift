import ArgumentParser
import Foundation
import Logging
import NewsletterCore
import Synchronization

struct Summaries: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Edit a week's summaries, or evaluate the summarizer on a set of pages.",
        subcommands: [Edit.self, Eval.self, Check.self]
    )

    struct Edit: ParsableCommand {
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

        func run() throws {
            let context = try global.context()
            let week = try! IssueWeek(parsing: self.week)
            // Opened here, so the edit works on the store itself, whichever backend.
            func proceed<Store: NewsletterStore>(_ store: Store) throws {
                let edits = SummaryEdits(store: store)
                do {
                    if remove {
                        let removed = try edits.revert(week: week, comparisonID: comparison, scope: .anyComparison)
                        print(removed ? "\(week) #\(comparison): override removed" : "\(week) #\(comparison) had no override")
                        return
                    }
                    let raw = try text ?? readText(current: try edits.current(week: week, comparisonID: comparison))
                    let replaced = try edits.replace(week: week, comparisonID: comparison, with: raw, scope: .anyComparison)
                    print("\(week) #\(comparison) \(replaced.title): summary stored (\(replaced.text.count) characters)")
                    print("Rebuild the draft with: newsletter preview --week \(week)")
                } catch let error as SummaryEditError {
                    switch error {
                    case .noComparison:
                        Terminal.printError("\(error); `newsletter comparisons list` shows the ids")
                    default:
                        Terminal.printError("\(error)")
                    }
                    throw ExitCode(ExitStatus.partialFailure.rawValue)
                }
            }
            try proceed(try context.openStore())
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

    struct Eval: ParsableCommand {
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

        func run() throws {
            let context = try global.context()
            var settings = context.configuration
            if let model { settings.summaries.model = URL(fileURLWithPath: model).standardizedFileURL.path }
            let fetcher = CurlFetcher(
                maxBytes: settings.ingest.maxPageBytes, timeoutSeconds: settings.ingest.timeoutSeconds,
                connectTimeoutSeconds: settings.ingest.connectTimeoutSeconds, userAgent: settings.ingest.userAgent)
            let ingester = Ingester<AppDatabase, CurlFetcher>(
                store: nil, fetcher: fetcher, options: IngestOptions(dryRun: true), logger: context.logger)
            var comparisons: [Comparison] = []
            for result in ingester.ingest(sources) {
                if let error = result.error { Terminal.printError("\(error)") }
                // The HTML page and its text dump are one comparison: evaluate it once.
                if let comparison = result.comparison,
                    !comparisons.contains(where: { $0.recordHash == comparison.recordHash })
                {
                    comparisons.append(comparison)
                }
            }
            guard !comparisons.isEmpty else {
                Terminal.printError("no comparison could be read from the sources")
                throw ExitCode(ExitStatus.partialFailure.rawValue)
            }
            let (chain, supervisor) = SummaryChain.configured(settings.summaries, store: nil)
            defer { supervisor?.stop() }
            guard !chain.providers.isEmpty else {
                Terminal.printError(
                    "summaries.enabled is false or the chain has no model provider; nothing to evaluate")
                throw ExitCode(ExitStatus.configurationError.rawValue)
            }
            let bar = Terminal.isInteractive && !json ? ProgressBar(verb: "Evaluating") : nil
            bar?.add(total: comparisons.count * chain.providers.count)
            let started = ContinuousClock.now
            var reports = chain.providers.map { SummaryEvaluation(provider: $0.name, model: $0.model, kind: $0.kind) }
            for (index, provider) in chain.providers.enumerated() {
                let single = SummaryChain(
                    providers: [provider], store: nil, checks: chain.checks,
                    attemptsPerProvider: chain.attemptsPerProvider, seed: chain.seed)
                let providerStart = ContinuousClock.now
                for comparison in comparisons {
                    let outcome = single.summarize(comparison)
                    reports[index].add(outcome.trials, title: comparison.title)
                    if verbose { printTrials(outcome.trials, title: comparison.title, bar: bar) }
                    bar?.advance("\(provider.name): \(comparison.title)")
                    context.logger.info(
                        "evaluated", metadata: ["provider": "\(provider.name)", "comparison": "\(comparison.title)"])
                }
                reports[index].wallMilliseconds = ChatClient.milliseconds(since: providerStart)
            }
            bar?.clear()
            let total = ChatClient.milliseconds(since: started)
            if json {
                print(
                    try JSONOutput.string(
                        SummaryEvaluationReport(pages: comparisons.count, wallMilliseconds: total, providers: reports)))
            } else {
                print(SummaryEvaluation.table(reports, pages: comparisons.count, wallMilliseconds: total))
            }
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

/// One provider's results over the evaluated pages.
struct SummaryEvaluation: Encodable {
    var provider: String
    var model: String
    var kind: SummaryKind
    var pages = 0
    var pagesAccepted = 0
    var replies = 0
    var repliesAccepted = 0
    var errors: [String: Int] = [:]
    var guardFailures: [String: Int] = [:]
    var promptTokens = 0
    var completionTokens = 0
    /// llama-server's own time for the same requests (prompt + generation), when it reports it.
    var serverMilliseconds = 0.0
    var serverPredictedTokens = 0
    var serverPredictedMilliseconds = 0.0
    var serverPromptTokens = 0
    var serverPromptMilliseconds = 0.0
    /// Per page, in order: "title: the accepted summary's text", or nil.
    var acceptedSummaries: [String?] = []
    /// The requests' wall time as this process saw it.
    var requestMilliseconds = 0
    var wallMilliseconds = 0

    init(provider: String, model: String, kind: SummaryKind) {
        self.provider = provider
        self.model = model
        self.kind = kind
    }

    var tokensPerSecond: Double? {
        serverPredictedMilliseconds > 0 ? Double(serverPredictedTokens) / (serverPredictedMilliseconds / 1000) : nil
    }

    /// Prompt processing speed, from the same timings.
    var promptTokensPerSecond: Double? {
        serverPromptMilliseconds > 0 ? Double(serverPromptTokens) / (serverPromptMilliseconds / 1000) : nil
    }

    /// How much longer the requests took here than llama-server says it worked on them.
    var overheadPercent: Double? {
        serverMilliseconds > 0 ? (Double(requestMilliseconds) - serverMilliseconds) / serverMilliseconds * 100 : nil
    }

    mutating func add(_ trials: [SummaryTrial], title: String = "") {
        pages += 1
        // A page counts when a whole summary was accepted (not only one tool's sentences).
        if let accepted = trials.last(where: { $0.part == nil && $0.accepted }) {
            pagesAccepted += 1
            acceptedSummaries.append(title + ": " + (accepted.text ?? ""))
        } else {
            acceptedSummaries.append(nil)
        }
        for trial in trials {
            if let error = trial.error {
                let kind: String
                switch error {
                case .unavailable: kind = "unavailable"
                case .callFailed(let call): kind = call.kind
                }
                errors[kind, default: 0] += 1
                continue
            }
            guard let reply = trial.reply else { continue }
            replies += 1
            if trial.accepted { repliesAccepted += 1 }
            for kind in Set(trial.rejections.map(\.kind)) { guardFailures[kind, default: 0] += 1 }
            promptTokens += reply.promptTokens ?? reply.timings?.promptTokens ?? 0
            completionTokens += reply.completionTokens ?? reply.timings?.predictedTokens ?? 0
            requestMilliseconds += reply.milliseconds
            if let timings = reply.timings {
                serverPromptTokens += timings.promptTokens
                serverPromptMilliseconds += timings.promptMilliseconds
                serverMilliseconds += timings.totalMilliseconds
                serverPredictedTokens += timings.predictedTokens
                serverPredictedMilliseconds += timings.predictedMilliseconds
            }
        }
    }

    enum CodingKeys: String, CodingKey {
        case provider, model, kind, pages, pagesAccepted, replies, repliesAccepted, errors, guardFailures
        case promptTokens, completionTokens, serverMilliseconds, serverPredictedTokens, serverPredictedMilliseconds
        case requestMilliseconds, wallMilliseconds, tokensPerSecond, overheadPercent
        case serverPromptTokens, serverPromptMilliseconds, promptTokensPerSecond, acceptedSummaries
    }

    func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(provider, forKey: .provider)
        try container.encode(model, forKey: .model)
        try container.encode(kind, forKey: .kind)
        try container.encode(pages, forKey: .pages)
        try container.encode(pagesAccepted, forKey: .pagesAccepted)
        try container.encode(replies, forKey: .replies)
        try container.encode(repliesAccepted, forKey: .repliesAccepted)
        try container.encode(errors, forKey: .errors)
        try container.encode(guardFailures, forKey: .guardFailures)
        try container.encode(promptTokens, forKey: .promptTokens)
        try container.encode(completionTokens, forKey: .completionTokens)
        try container.encode(serverMilliseconds, forKey: .serverMilliseconds)
        try container.encode(serverPredictedTokens, forKey: .serverPredictedTokens)
        try container.encode(serverPredictedMilliseconds, forKey: .serverPredictedMilliseconds)
        try container.encode(requestMilliseconds, forKey: .requestMilliseconds)
        try container.encode(wallMilliseconds, forKey: .wallMilliseconds)
        try container.encodeIfPresent(tokensPerSecond, forKey: .tokensPerSecond)
        try container.encodeIfPresent(overheadPercent, forKey: .overheadPercent)
        try container.encode(serverPromptTokens, forKey: .serverPromptTokens)
        try container.encode(serverPromptMilliseconds, forKey: .serverPromptMilliseconds)
        try container.encodeIfPresent(promptTokensPerSecond, forKey: .promptTokensPerSecond)
        try container.encode(acceptedSummaries, forKey: .acceptedSummaries)
    }

    static func table(_ reports: [SummaryEvaluation], pages: Int, wallMilliseconds: Int) -> String {
        var lines = [
            "\(pages) comparison\(pages == 1 ? "" : "s"), \(String(format: "%.1f", Double(wallMilliseconds) / 1000)) s in all"
        ]
        for report in reports {
            lines.append("")
            lines.append("\(report.provider) (\(report.kind.rawValue), \(report.model))")
            lines.append(
                "  accepted:        \(report.pagesAccepted)/\(report.pages) pages, \(report.repliesAccepted)/\(report.replies) replies"
                    + (report.replies > 0
                        ? String(format: " (%.0f %%)", Double(report.repliesAccepted) / Double(report.replies) * 100)
                        : ""))
            let failures = report.guardFailures.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
            lines.append(
                "  guard failures:  "
                    + (failures.isEmpty ? "none" : failures.map { "\($0.key) \($0.value)" }.joined(separator: ", ")))
            if !report.errors.isEmpty {
                lines.append(
                    "  errors:          "
                        + report.errors.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(
                            separator: ", "))
            }
            lines.append("  tokens:          \(report.promptTokens) prompt, \(report.completionTokens) completion")
            lines.append(
                "  tokens/s:        "
                    + (report.tokensPerSecond.map { String(format: "%.1f generated", $0) } ?? "n/a (no timings)")
                    + (report.promptTokensPerSecond.map { String(format: ", %.1f prompt (llama-server timings)", $0) }
                        ?? ""))
            lines.append(
                "  wall time:       \(String(format: "%.1f", Double(report.wallMilliseconds) / 1000)) s"
                    + (report.overheadPercent.map {
                        String(
                            format: "; requests %.0f ms vs server %.0f ms, overhead %.1f %%",
                            Double(report.requestMilliseconds), report.serverMilliseconds, $0)
                    } ?? ""))
        }
        return lines.joined(separator: "\n")
    }
}

struct SummaryEvaluationReport: Encodable {
    var pages: Int
    var wallMilliseconds: Int
    var providers: [SummaryEvaluation]
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
        case .finished(let comparison, let summary, let fromCache):
            countIfNew(comparison)
            bar?.advance(comparison)
            logger.info(
                "summary ready",
                metadata: [
                    "comparison": "\(comparison)", "provider": "\(summary.provider)",
                    "kind": "\(summary.kind.rawValue)",
                    "model": "\(summary.model ?? "-")", "ms": "\(summary.milliseconds ?? 0)", "cached": "\(fromCache)",
                ])
        }
    }

    func finish() { bar?.clear() }

    private func countIfNew(_ comparison: String) {
        if seen.withLock({ $0.insert(comparison).inserted }) { bar?.add(total: 1) }
    }
}
