import Foundation

extension SummaryChain {
    /// Asks each provider alone (with the chain's guard and attempts, no cache) for every
    /// comparison; `observe` hears each provider's trials on each comparison as they happen.
    public func evaluate(
        _ comparisons: [Comparison], observe: (any SummaryProvider, Comparison, [SummaryTrial]) -> Void = { _, _, _ in }
    ) async -> SummaryEvaluationReport {
        let started = ContinuousClock.now
        var reports = providers.map { SummaryEvaluation(provider: $0.name, model: $0.model, kind: $0.kind) }
        for (index, provider) in providers.enumerated() {
            let single = SummaryChain(
                providers: [provider], store: nil, checks: checks, attemptsPerProvider: attemptsPerProvider, seed: seed)
            let providerStart = ContinuousClock.now
            for comparison in comparisons {
                let outcome = await single.summarize(comparison)
                reports[index].add(outcome.trials, title: comparison.title)
                observe(provider, comparison, outcome.trials)
            }
            reports[index].wallMilliseconds = ChatClient.milliseconds(since: providerStart)
        }
        return SummaryEvaluationReport(
            pages: comparisons.count, wallMilliseconds: ChatClient.milliseconds(since: started), providers: reports)
    }
}

/// One provider's results over the evaluated pages.
public struct SummaryEvaluation: Encodable, Sendable {
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
    /// llama-server's token counts and times, summed as the chain's log line sums them.
    var server = SummaryUsage()
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

    var tokensPerSecond: Double? { server.tokensPerSecond }

    /// Prompt processing speed, from the same timings.
    var promptTokensPerSecond: Double? { server.promptTokensPerSecond }

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
                server.add(timings)
                serverMilliseconds += timings.totalMilliseconds
            }
        }
    }

    enum CodingKeys: String, CodingKey {
        case provider, model, kind, pages, pagesAccepted, replies, repliesAccepted, errors, guardFailures
        case promptTokens, completionTokens, serverMilliseconds, serverPredictedTokens, serverPredictedMilliseconds
        case requestMilliseconds, wallMilliseconds, tokensPerSecond, overheadPercent
        case serverPromptTokens, serverPromptMilliseconds, promptTokensPerSecond, acceptedSummaries
    }

    public func encode(to encoder: Encoder) throws {
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
        try container.encode(server.predictedTokens, forKey: .serverPredictedTokens)
        try container.encode(server.predictedMilliseconds, forKey: .serverPredictedMilliseconds)
        try container.encode(requestMilliseconds, forKey: .requestMilliseconds)
        try container.encode(wallMilliseconds, forKey: .wallMilliseconds)
        try container.encodeIfPresent(tokensPerSecond, forKey: .tokensPerSecond)
        try container.encodeIfPresent(overheadPercent, forKey: .overheadPercent)
        try container.encode(server.promptTokens, forKey: .serverPromptTokens)
        try container.encode(server.promptMilliseconds, forKey: .serverPromptMilliseconds)
        try container.encodeIfPresent(promptTokensPerSecond, forKey: .promptTokensPerSecond)
        try container.encode(acceptedSummaries, forKey: .acceptedSummaries)
    }
}

/// What `summaries eval` reports: every provider over the same pages.
public struct SummaryEvaluationReport: Encodable, Sendable {
    public var pages: Int
    public var wallMilliseconds: Int
    public var providers: [SummaryEvaluation]

    /// The report as a table for a person.
    public var table: String {
        let reports = providers
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
