import Foundation
import Synchronization

/// How a summary was made: what the preview shows beside it.
public enum SummaryKind: String, Codable, Sendable, CaseIterable {
    /// Written by a model and accepted by the guard.
    case abstractive
    /// Sentences of the takes, chosen by a model through a grammar that allows nothing else.
    case grammarExtractive = "grammar-extractive"
    /// Sentences of the takes, chosen by fixed rules: the fallback that needs no model.
    case extractive
    /// Written by an editor (`newsletter summaries edit`).
    case edited

    /// Not what the chain tries first: the preview marks these as fallbacks.
    public var isFallback: Bool { self == .grammarExtractive || self == .extractive }
}

/// Why a provider produced nothing at all (a guard rejection is not this: it is a reply).
public enum SummaryProviderError: Error, Equatable, Sendable, CustomStringConvertible {
    /// It cannot serve in this run (runtime missing, no API key): skip it without retrying.
    case unavailable(String)
    /// It was called and failed (after its own transport retries).
    case callFailed(ModelCallError)

    public var description: String {
        switch self {
        case .unavailable(let reason): "unavailable: \(reason)"
        case .callFailed(let error): "\(error)"
        }
    }
}

/// One try at a summary: the retries tighten the prompt, then change the seed. At temperature 0
/// a seed changes nothing, so the third and later tries sample a little (still repeatable: the
/// seed is fixed).
public struct SummaryAttempt: Sendable, Equatable {
    public var number: Int
    public var seed: Int
    public var tighter: Bool { number > 0 }
    public var temperature: Double { number > 1 ? 0.6 : 0 }

    public init(number: Int, seed: Int) {
        self.number = number
        self.seed = seed
    }
}

/// Something that can summarize a comparison with a model: the local runtime, an
/// OpenAI-compatible endpoint, the grammar-constrained extractive step.
public protocol SummaryProvider: Sendable {
    /// `local`, an endpoint's name, or `local-grammar`.
    var name: String { get }
    var model: String { get }
    var kind: SummaryKind { get }
    /// The instructions sent with the takes, which a reply must not recite.
    func instructions(for comparison: Comparison, attempt: SummaryAttempt) -> String
    func summarize(_ comparison: Comparison, attempt: SummaryAttempt) throws(SummaryProviderError) -> ModelReply
}

/// A provider that writes a comparison's summary one tool at a time: a request per tool with only
/// that tool's takes, so the model cannot lend one tool's facts to the other (the chain guards
/// each tool's sentences, retries only the one refused, then guards the whole).
public protocol PerToolSummaryProvider: SummaryProvider {
    func instructions(for comparison: Comparison, tool: Tool, attempt: SummaryAttempt) -> String
    func summarize(_ comparison: Comparison, tool: Tool, attempt: SummaryAttempt) throws(SummaryProviderError)
        -> ModelReply
}

/// Where a provider's requests go, and what happens when they fail.
public protocol ModelConnection: Sendable {
    var label: String { get }
    var model: String { get }
    /// llama-server takes `cache_prompt` and `grammar`; other endpoints may refuse them.
    var isLlamaServer: Bool { get }
    var maxTokens: Int { get }
    func call(_ request: (ChatClient) throws(ModelCallError) -> ModelReply) throws(SummaryProviderError) -> ModelReply
}

/// The bundled runtime: requests go to the supervised llama-server, and a request that finds
/// it dead restarts it once.
public struct LocalRuntimeConnection: ModelConnection {
    public var supervisor: LlamaServerSupervisor
    public var timeoutSeconds: Int
    public var maxTokens: Int
    public var label: String { "local" }
    public var isLlamaServer: Bool { true }
    public var model: String {
        URL(fileURLWithPath: supervisor.settings.modelPath).deletingPathExtension().lastPathComponent
    }

    public init(supervisor: LlamaServerSupervisor, timeoutSeconds: Int = 120, maxTokens: Int = 160) {
        self.supervisor = supervisor
        self.timeoutSeconds = timeoutSeconds
        self.maxTokens = maxTokens
    }

    public func call(_ request: (ChatClient) throws(ModelCallError) -> ModelReply) throws(SummaryProviderError)
        -> ModelReply
    {
        var restarted = false
        while true {
            let url: String
            do {
                url = try supervisor.baseURL()
            } catch {
                throw .unavailable(error.description)
            }
            let client = ChatClient(http: ModelHTTPClient(baseURL: url, timeoutSeconds: timeoutSeconds))
            do {
                return try request(client)
            } catch {
                if error.suggestsDeadServer, !restarted, supervisor.recoverAfterFailure() {
                    restarted = true
                    continue
                }
                throw .callFailed(error)
            }
        }
    }
}

/// An OpenAI-compatible endpoint from `[[summaries.endpoints]]`: API key from the environment,
/// retries with backoff for transient failures, and a requests-per-minute limit.
public struct RemoteEndpointConnection: ModelConnection {
    public struct Settings: Sendable, Equatable {
        public var name: String
        public var baseURL: String
        public var model: String
        /// The environment variable holding the API key; nil sends none (a local gateway).
        public var apiKeyEnvironment: String?
        public var timeoutSeconds = 60
        public var retries = 2
        /// 0: no limit.
        public var requestsPerMinute = 0
        public var maxTokens = 160

        public init(name: String, baseURL: String, model: String, apiKeyEnvironment: String? = nil) {
            self.name = name
            self.baseURL = baseURL
            self.model = model
            self.apiKeyEnvironment = apiKeyEnvironment
        }
    }

    public let settings: Settings
    public var apiKey: String?
    /// `requests_per_minute`, shared by copies of this connection; nil when unlimited.
    private let pacing: PacedBucket?
    /// The first wait between retries; it doubles with each.
    public var backoffBase: Duration = .milliseconds(500)
    public let time: any TimeSource

    public var label: String { settings.name }
    public var model: String { settings.model }
    public var isLlamaServer: Bool { false }
    public var maxTokens: Int { settings.maxTokens }

    public init(
        settings: Settings, environment: [String: String] = ProcessInfo.processInfo.environment,
        time: any TimeSource = SystemTime()
    ) {
        self.settings = settings
        self.time = time
        // A burst of one: requests spaced 60/rpm seconds apart, the first at once.
        pacing =
            settings.requestsPerMinute > 0
            ? PacedBucket(perSecond: Double(settings.requestsPerMinute) / 60, burst: 1, time: time) : nil
        self.apiKey = settings.apiKeyEnvironment.flatMap { environment[$0] }.flatMap { $0.isEmpty ? nil : $0 }
    }

    public func call(_ request: (ChatClient) throws(ModelCallError) -> ModelReply) throws(SummaryProviderError)
        -> ModelReply
    {
        if let variable = settings.apiKeyEnvironment, apiKey == nil {
            throw .unavailable(ModelCallError.missingAPIKey(variable: variable).description)
        }
        let client = ChatClient(
            http: ModelHTTPClient(baseURL: settings.baseURL, apiKey: apiKey, timeoutSeconds: settings.timeoutSeconds))
        let backoff = Backoff(base: backoffBase, cap: backoffBase * 64)
        var attempt = 0
        while true {
            pacing?.acquire()
            do {
                return try request(client)
            } catch {
                guard error.isTransient, attempt < settings.retries else { throw .callFailed(error) }
                attempt += 1
                time.sleep(for: backoff.delay(beforeRetry: attempt))
            }
        }
    }
}

/// An abstractive summary from a chat model, over any connection: one request per tool
/// (`PerToolSummaryProvider`), the whole panel in one request only through `summarize(_:attempt:)`.
public struct ChatSummaryProvider<Connection: ModelConnection>: PerToolSummaryProvider {
    public var connection: Connection
    public var name: String { connection.label }
    public var model: String { connection.model }
    public var kind: SummaryKind { .abstractive }

    public init(connection: Connection) {
        self.connection = connection
    }

    public func instructions(for comparison: Comparison, attempt: SummaryAttempt) -> String {
        SummaryPrompt.instructions(for: comparison, tighter: attempt.tighter)
    }

    public func instructions(for comparison: Comparison, tool: Tool, attempt: SummaryAttempt) -> String {
        SummaryPrompt.instructions(for: comparison, tool: tool, prompt: SummaryPrompt.ToolPrompt(attempt))
    }

    /// One or two sentences about `tool` (a short reply: the chain keeps its complete sentences).
    public func summarize(_ comparison: Comparison, tool: Tool, attempt: SummaryAttempt) throws(SummaryProviderError)
        -> ModelReply
    {
        let prompt = SummaryPrompt.ToolPrompt(attempt)
        let prefill = connection.isLlamaServer
        let messages = SummaryPrompt.messages(for: comparison, tool: tool, prompt: prompt, prefill: prefill)
        let options = SamplingOptions(
            temperature: attempt.temperature, seed: attempt.seed, maxTokens: min(connection.maxTokens, 80),
            isLlamaServer: connection.isLlamaServer, discouragesCopying: true)
        let model = connection.model
        var reply = try connection.call { client throws(ModelCallError) in
            try client.chat(model: model, messages: messages, options: options)
        }
        // llama-server answers a prefilled turn with the whole of it (measured: the content
        // starts with the prefill); a server that sends only the continuation gets it put back.
        let opening = SummaryPrompt.replyOpening(tool, comparison: comparison)
        if prefill, !reply.text.hasPrefix(opening) {
            let continuation = reply.text
            reply.text = opening + (continuation.first.map { $0.isLetter || $0.isNumber } == true ? " " : "") + continuation
        }
        return reply
    }

    public func summarize(_ comparison: Comparison, attempt: SummaryAttempt) throws(SummaryProviderError) -> ModelReply
    {
        let messages = SummaryPrompt.messages(for: comparison, tighter: attempt.tighter)
        let options = SamplingOptions(
            temperature: attempt.temperature, seed: attempt.seed, maxTokens: connection.maxTokens,
            isLlamaServer: connection.isLlamaServer)
        let model = connection.model
        return try connection.call { client throws(ModelCallError) in
            try client.chat(model: model, messages: messages, options: options)
        }
    }
}

/// The model picks two or three of the takes' own sentences through a GBNF grammar that allows
/// nothing else, so it cannot invent a word. llama-server only.
public struct GrammarExtractiveProvider<Connection: ModelConnection>: SummaryProvider {
    public var connection: Connection
    public var name: String { connection.label + "-grammar" }
    public var model: String { connection.model }
    public var kind: SummaryKind { .grammarExtractive }

    public init(connection: Connection) {
        self.connection = connection
    }

    public func instructions(for comparison: Comparison, attempt: SummaryAttempt) -> String {
        SummaryPrompt.extractiveSystem
    }

    public func summarize(_ comparison: Comparison, attempt: SummaryAttempt) throws(SummaryProviderError) -> ModelReply
    {
        let candidates = SummaryPrompt.candidateLines(for: TakeScreening.screened(comparison))
        guard candidates.count >= 2 else {
            throw .unavailable("the takes have fewer than two complete sentences to choose from")
        }
        let messages = SummaryPrompt.extractiveMessages(candidates: candidates)
        let grammar = SummaryPrompt.grammar(for: comparison, candidates: candidates)
        let longest = candidates.map(\.utf8.count).max() ?? 200
        // Three lines at roughly three bytes a token, with room to spare.
        let options = SamplingOptions(temperature: 0, seed: attempt.seed, maxTokens: longest + 64)
        var reply = try connection.call { client throws(ModelCallError) in
            let prompt: String
            do throws(ModelCallError) {
                prompt = try client.applyTemplate(messages)
            } catch {
                // A server from before /apply-template: SmolLM2's own ChatML.
                guard case .httpStatus(_, 404, _) = error else { throw error }
                prompt = SummaryPrompt.chatML(messages)
            }
            return try client.complete(prompt: prompt, grammar: grammar, options: options)
        }
        // The grammar cannot forbid choosing a line twice; drop the repeat.
        var seen: Set<Substring> = []
        reply.text = reply.text.split(separator: "\n").filter { seen.insert($0).inserted }.joined(separator: "\n")
        return reply
    }
}
