import Crypto
import Foundation

/// What a stored summary is keyed by: the same model, prompt and source give the same summary.
public struct SummaryCacheKey: Sendable, Hashable {
    public var model: String
    public var promptVersion: String
    public var sourceHash: String

    public init(model: String, promptVersion: String, sourceHash: String) {
        self.model = model
        self.promptVersion = promptVersion
        self.sourceHash = sourceHash
    }
}

/// Where summaries are kept between runs, and editors' overrides.
public protocol SummaryStore: Sendable {
    func cachedSummary(_ key: SummaryCacheKey) async throws -> PanelSummary?
    func saveSummary(_ summary: PanelSummary, for key: SummaryCacheKey) async throws
    /// An editor's text for a comparison in a week's issue; it wins over any generated one.
    func summaryOverride(week: IssueWeek, comparisonID: Int64) async throws -> PanelSummary?
    func saveSummaryOverride(week: IssueWeek, comparisonID: Int64, text: String) async throws
}

/// What the chain is doing, for a progress bar or log lines.
public enum SummaryEvent: Sendable {
    case attempt(comparison: String, provider: String, number: Int)
    case rejected(comparison: String, provider: String, reasons: [GuardRejection])
    case providerFailed(comparison: String, provider: String, error: SummaryProviderError)
    case finished(comparison: String, summary: PanelSummary, fromCache: Bool, usage: SummaryUsage)
}

/// What making one comparison's summary cost the model runtime: requests sent (accepted or not)
/// and the server's own token counts and times, for the log and `make bench-summaries`.
public struct SummaryUsage: Sendable, Equatable {
    public var requests = 0
    public var promptTokens = 0
    public var promptMilliseconds = 0.0
    public var predictedTokens = 0
    public var predictedMilliseconds = 0.0

    public init() {}

    public init(_ trials: [SummaryTrial]) {
        // A joined whole is not a request of its own.
        for trial in trials where trial.joinedText == nil {
            requests += 1
            if let timings = trial.reply?.timings { add(timings) }
        }
    }

    /// One reply's timings as llama-server reported them.
    public mutating func add(_ timings: ServerTimings) {
        promptTokens += timings.promptTokens
        promptMilliseconds += timings.promptMilliseconds
        predictedTokens += timings.predictedTokens
        predictedMilliseconds += timings.predictedMilliseconds
    }

    /// Generation speed: predicted tokens per second of predicting; nil with no timings.
    public var tokensPerSecond: Double? {
        predictedMilliseconds > 0 ? Double(predictedTokens) / (predictedMilliseconds / 1000) : nil
    }

    /// Prompt processing speed; nil with no timings.
    public var promptTokensPerSecond: Double? {
        promptMilliseconds > 0 ? Double(promptTokens) / (promptMilliseconds / 1000) : nil
    }
}

/// One model reply the chain saw, accepted or not: what the eval and the logs report.
public struct SummaryTrial: Sendable {
    public var provider: String
    public var model: String
    public var kind: SummaryKind
    public var attempt: Int
    public var reply: ModelReply?
    public var rejections: [GuardRejection]
    public var error: SummaryProviderError?
    /// The tool this reply is about, for a provider that writes one tool at a time; nil for a
    /// whole summary (for such a provider: the tools' sentences joined and guarded as one).
    public var part: String? = nil
    /// For a whole made of parts: the parts' sentences joined (no request of its own).
    public var joinedText: String? = nil
    public var text: String? { joinedText ?? reply?.text }
    public var accepted: Bool { text != nil && error == nil && rejections.isEmpty }
}

/// The store could not say whether an editor wrote the summary of a comparison in a week's
/// issue; nothing is built, so the model's text cannot ship in place of the editor's.
public struct SummaryOverrideReadError: Error, CustomStringConvertible, Sendable {
    public var week: IssueWeek
    public var comparisonID: Int64
    public var reason: String

    public var description: String {
        "could not read the editor's summary of comparison \(comparisonID) for \(week) from the store (\(reason)); "
            + "nothing was built: check that the store is reachable and run the preview again"
    }
}

public struct SummaryOutcome: Sendable {
    public var summary: PanelSummary
    public var trials: [SummaryTrial]
    public var fromCache: Bool
    /// Providers that could not serve at all (the runtime missing, say), with the reason.
    public var unavailable: [(provider: String, reason: String)]
}

/// The ordered provider chain: an editor's override, then a stored summary, then each provider
/// in turn (a bounded number of guarded attempts each), then the deterministic extractive
/// summary, which needs no model. A digest always ships.
public struct SummaryChain: Sendable {
    public var providers: [any SummaryProvider]
    public var store: (any SummaryStore)?
    public var checks: SummaryGuard
    /// Guarded attempts per provider: the first, then retries with another seed and a tighter prompt.
    public var attemptsPerProvider: Int
    public var seed: Int

    public init(
        providers: [any SummaryProvider], store: (any SummaryStore)? = nil, checks: SummaryGuard = SummaryGuard(),
        attemptsPerProvider: Int = 3, seed: Int = 42
    ) {
        self.providers = providers
        self.store = store
        self.checks = checks
        self.attemptsPerProvider = attemptsPerProvider
        self.seed = seed
    }

    /// The chain with no model at all: the deterministic extractive summary.
    public static let deterministic = SummaryChain(providers: [])

    /// The deterministic fallback is stored too, once models were asked and all refused, so a
    /// second preview asks none; it is keyed by the whole chain.
    var fallbackKeyModel: String {
        var hasher = SHA256()
        for provider in providers { hasher.update(data: Data("\(provider.name)/\(provider.model)\n".utf8)) }
        return "chain:" + Hex.encode(hasher.finalize()).prefix(16)
    }

    /// A comparison that is not in the store (the eval): no override applies.
    public func summarize(_ comparison: Comparison, observer: (@Sendable (SummaryEvent) -> Void)? = nil)
        async -> SummaryOutcome
    {
        await summarize(
            StoredComparison(
                id: 0, firstSeenAt: comparison.published, updatedAt: comparison.published, comparison: comparison),
            observer: observer)
    }

    /// A comparison in a week's issue: the editor's text for that week wins. A store that cannot
    /// say whether there is such a text fails the call, since the model's summary would ship in
    /// place of the editor's.
    public func summarize(
        _ stored: StoredComparison, week: IssueWeek, observer: (@Sendable (SummaryEvent) -> Void)? = nil
    ) async throws(SummaryOverrideReadError) -> SummaryOutcome {
        let edited: PanelSummary?
        do {
            edited = try await store?.summaryOverride(week: week, comparisonID: stored.id)
        } catch {
            throw SummaryOverrideReadError(week: week, comparisonID: stored.id, reason: "\(error)")
        }
        if let edited {
            observer?(
                .finished(comparison: stored.comparison.title, summary: edited, fromCache: true, usage: SummaryUsage()))
            return SummaryOutcome(summary: edited, trials: [], fromCache: true, unavailable: [])
        }
        return await summarize(stored, observer: observer)
    }

    /// A stored comparison outside any week's issue: no editor's text applies.
    public func summarize(_ stored: StoredComparison, observer: (@Sendable (SummaryEvent) -> Void)? = nil)
        async -> SummaryOutcome
    {
        let comparison = stored.comparison
        let title = comparison.title
        func finish(_ summary: PanelSummary, trials: [SummaryTrial], cached: Bool, unavailable: [(String, String)])
            -> SummaryOutcome
        {
            observer?(.finished(comparison: title, summary: summary, fromCache: cached, usage: SummaryUsage(trials)))
            return SummaryOutcome(summary: summary, trials: trials, fromCache: cached, unavailable: unavailable)
        }
        let sourceHash = SummaryPrompt.sourceHash(comparison)
        func key(_ model: String) -> SummaryCacheKey {
            SummaryCacheKey(model: model, promptVersion: SummaryPrompt.version, sourceHash: sourceHash)
        }
        // Any stored summary from this chain, best provider first, before any model is asked. A
        // cache that cannot be read only costs a model call: the summary is made again and checked.
        if let store, !providers.isEmpty {
            for provider in providers {
                if let cached = try? await store.cachedSummary(key(provider.model + "|" + provider.kind.rawValue)) {
                    return finish(cached, trials: [], cached: true, unavailable: [])
                }
            }
            if let cached = try? await store.cachedSummary(key(fallbackKeyModel)) {
                return finish(cached, trials: [], cached: true, unavailable: [])
            }
        }

        var trials: [SummaryTrial] = []
        var unavailable: [(String, String)] = []
        var notes: [String] = []
        // Any provider that could not answer (missing, timed out, a 5xx, a dropped connection).
        var callFailed = false
        providers: for provider in providers {
            if let perTool = provider as? any PerToolSummaryProvider {
                switch summarizeByTool(comparison, provider: perTool, observer: observer, trials: &trials) {
                case .accepted(var summary):
                    summary.note = notes.isEmpty ? nil : notes.joined(separator: "; ")
                    try? await store?.saveSummary(summary, for: key(provider.model + "|" + provider.kind.rawValue))
                    return finish(summary, trials: trials, cached: false, unavailable: unavailable)
                case .refused(let note):
                    notes.append("\(provider.name): \(note)")
                case .failed(let error):
                    callFailed = true
                    if case .unavailable(let reason) = error {
                        unavailable.append((provider.name, reason))
                        notes.append("\(provider.name): \(reason)")
                    } else {
                        notes.append("\(provider.name): \(error)")
                    }
                }
                continue providers
            }
            var rejectedKinds: [String] = []
            for number in 0..<max(1, attemptsPerProvider) {
                let attempt = SummaryAttempt(number: number, seed: seed + number)
                observer?(.attempt(comparison: title, provider: provider.name, number: number))
                let reply: ModelReply
                do {
                    reply = try provider.summarize(comparison, attempt: attempt)
                } catch {
                    trials.append(
                        SummaryTrial(
                            provider: provider.name, model: provider.model, kind: provider.kind, attempt: number,
                            reply: nil, rejections: [], error: error))
                    observer?(.providerFailed(comparison: title, provider: provider.name, error: error))
                    callFailed = true
                    if case .unavailable(let reason) = error {
                        unavailable.append((provider.name, reason))
                        notes.append("\(provider.name): \(reason)")
                    } else {
                        notes.append("\(provider.name): \(error)")
                    }
                    continue providers
                }
                var checks = self.checks
                let text: String
                if provider.kind == .grammarExtractive {
                    // Whole sentences of the takes run longer than a written summary.
                    checks.maximumWords = max(checks.maximumWords, 180)
                    checks.checksRepeatedRuns = false
                    text = reply.text.trimmingCharacters(in: .whitespacesAndNewlines)
                } else {
                    text = checks.trimmed(reply.text)
                }
                let source = GuardSource(
                    comparison, instructions: provider.instructions(for: comparison, attempt: attempt))
                let rejections = checks.check(text, against: source)
                trials.append(
                    SummaryTrial(
                        provider: provider.name, model: provider.model, kind: provider.kind, attempt: number,
                        reply: reply, rejections: rejections, error: nil))
                if rejections.isEmpty {
                    let summary = PanelSummary(
                        text: text, provider: provider.name, kind: provider.kind, model: provider.model,
                        promptTokens: reply.promptTokens ?? reply.timings?.promptTokens,
                        completionTokens: reply.completionTokens ?? reply.timings?.predictedTokens,
                        milliseconds: reply.milliseconds,
                        note: notes.isEmpty ? nil : notes.joined(separator: "; "))
                    try? await store?.saveSummary(summary, for: key(provider.model + "|" + provider.kind.rawValue))
                    return finish(summary, trials: trials, cached: false, unavailable: unavailable)
                }
                rejectedKinds.append(rejections.map(\.kind).joined(separator: "+"))
                observer?(.rejected(comparison: title, provider: provider.name, reasons: rejections))
            }
            notes.append(
                "\(provider.name): the guard refused \(rejectedKinds.count) replies (\(rejectedKinds.joined(separator: ", ")))"
            )
        }
        var summary = ExtractiveSummarizer.summarize(comparison)
        summary.note = notes.isEmpty ? nil : notes.joined(separator: "; ")
        // Keep the fallback only when every model answered and the guard refused them all; a
        // missing runtime may be built, and a timeout or a 5xx may pass, before the next preview.
        if !callFailed && !providers.isEmpty {
            try? await store?.saveSummary(summary, for: key(fallbackKeyModel))
        }
        return finish(summary, trials: trials, cached: false, unavailable: unavailable)
    }

    enum ByToolResult {
        case accepted(PanelSummary)
        case refused(String)
        case failed(SummaryProviderError)
    }

    /// One tool at a time: each tool's sentences get up to `attemptsPerProvider` guarded tries
    /// (a refused tool is retried alone), then the sentences joined are guarded as one summary.
    func summarizeByTool(
        _ comparison: Comparison, provider: any PerToolSummaryProvider,
        observer: (@Sendable (SummaryEvent) -> Void)?, trials: inout [SummaryTrial]
    ) -> ByToolResult {
        let title = comparison.title
        var parts: [String] = []
        var replies: [ModelReply] = []
        var instructions: [String] = []
        var rejectedKinds: [String] = []
        for tool in comparison.tools {
            var accepted: String?
            for number in 0..<max(1, attemptsPerProvider) {
                let attempt = SummaryAttempt(number: number, seed: seed + number)
                observer?(.attempt(comparison: title, provider: provider.name, number: number))
                let reply: ModelReply
                do {
                    reply = try provider.summarize(comparison, tool: tool, attempt: attempt)
                } catch {
                    trials.append(
                        SummaryTrial(
                            provider: provider.name, model: provider.model, kind: provider.kind, attempt: number,
                            reply: nil, rejections: [], error: error, part: tool.name))
                    observer?(.providerFailed(comparison: title, provider: provider.name, error: error))
                    return .failed(error)
                }
                let told = provider.instructions(for: comparison, tool: tool, attempt: attempt)
                // One sentence of the first two, each guarded on its own: the first in the model's
                // own words that the guard accepts (measured at panel-v3: with the tool's
                // description in the prompt the first sentence was often that description copied
                // out, and a second sentence on its own often a take recited). That is why the
                // request is not stopped at its first sentence (issue 23: a stop there left the
                // demo's Inkwell with only copied first sentences). A copy of the page never ships:
                // it would be the page's words under the heading of a model's summary of the takes.
                let material = SummaryPrompt.copyMaterial(comparison, tool: tool)
                let sentences = SummaryGuard.candidateSentences(
                    checks.partChecks.trimmed(reply.text, maximumSentences: 2), copiedFrom: material)
                // Whole sentences first; then the main clause of each in the model's own words, so
                // a wrong dissent clause costs the dissent, not the tool's sentence
                // (SummaryGuard.mainClause). A copy cut short is still a copy: it gives none.
                let clauses = sentences.filter { SummaryGuard.copiedRun($0, from: material) == nil }
                    .compactMap(SummaryGuard.mainClause).filter { !sentences.contains($0) }
                let candidates = sentences + clauses
                let verdicts = candidates.map { candidate in
                    (candidate, checks.checkSentence(candidate, about: tool, in: comparison, instructions: told))
                }
                let (text, rejections) = verdicts.first { $0.1.isEmpty } ?? verdicts[0]
                trials.append(
                    SummaryTrial(
                        provider: provider.name, model: provider.model, kind: provider.kind, attempt: number,
                        reply: reply, rejections: rejections, error: nil, part: tool.name))
                replies.append(reply)
                if rejections.isEmpty {
                    accepted = text
                    instructions.append(told)
                    break
                }
                rejectedKinds.append(rejections.map(\.kind).joined(separator: "+"))
                observer?(.rejected(comparison: title, provider: provider.name, reasons: rejections))
            }
            guard let accepted else {
                return .refused(
                    "the guard refused every reply about \(tool.name) (\(rejectedKinds.joined(separator: ", ")))")
            }
            parts.append(accepted)
        }
        let text = parts.joined(separator: " ")
        let source = GuardSource(comparison, instructions: instructions.joined(separator: "\n"))
        let rejections = checks.check(text, against: source)
        let joined = ModelReply(
            text: text, promptTokens: replies.compactMap { $0.promptTokens ?? $0.timings?.promptTokens }.reduce(0, +),
            completionTokens: replies.compactMap { $0.completionTokens ?? $0.timings?.predictedTokens }.reduce(0, +),
            timings: nil, milliseconds: replies.map(\.milliseconds).reduce(0, +))
        // The whole is not another request: its reply carries no timings, so the eval does not
        // count the parts' tokens twice.
        trials.append(
            SummaryTrial(
                provider: provider.name, model: provider.model, kind: provider.kind, attempt: 0, reply: nil,
                rejections: rejections, error: nil, part: nil, joinedText: text))
        guard rejections.isEmpty else {
            observer?(.rejected(comparison: title, provider: provider.name, reasons: rejections))
            return .refused(
                "the guard refused the tools' sentences joined (\(rejections.map(\.kind).joined(separator: "+")))")
        }
        return .accepted(
            PanelSummary(
                text: text, provider: provider.name, kind: provider.kind, model: provider.model,
                promptTokens: joined.promptTokens, completionTokens: joined.completionTokens,
                milliseconds: joined.milliseconds))
    }
}
