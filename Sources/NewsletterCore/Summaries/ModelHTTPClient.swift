import CNewsletterCurl
import Foundation

/// Why a call to a model endpoint failed, and whether trying again could help.
public enum ModelCallError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Nothing listens there (connection refused, unknown host).
    case unreachable(url: String, reason: String)
    /// No complete answer within the timeout.
    case timedOut(url: String, seconds: Int)
    /// The server closed the connection before a whole answer arrived.
    case connectionClosed(url: String, reason: String)
    /// An HTTP status outside 2xx, with the start of the body.
    case httpStatus(url: String, status: Int, body: String)
    /// A 2xx answer that is not the JSON an OpenAI-compatible server sends.
    case malformedResponse(url: String, reason: String)
    /// The API key's environment variable is not set.
    case missingAPIKey(variable: String)
    /// The request was never sent: libcurl refused a setting (a URL too long for it) or a header
    /// held a line break (an API key with a newline would add headers of its own).
    case requestNotSent(url: String, reason: String)

    /// Transport failures and 5xx/429 may pass; a 4xx or a malformed answer will not.
    public var isTransient: Bool {
        switch self {
        case .unreachable, .timedOut, .connectionClosed: true
        case .httpStatus(_, let status, _): status >= 500 || status == 429
        case .malformedResponse, .missingAPIKey, .requestNotSent: false
        }
    }

    /// The server process is probably gone (so a supervisor should look at it).
    public var suggestsDeadServer: Bool {
        switch self {
        case .unreachable, .connectionClosed: true
        default: false
        }
    }

    public var kind: String {
        switch self {
        case .unreachable: "unreachable"
        case .timedOut: "timeout"
        case .connectionClosed: "connection-closed"
        case .httpStatus(_, let status, _): "http-\(status)"
        case .malformedResponse: "malformed-response"
        case .missingAPIKey: "missing-api-key"
        case .requestNotSent: "request-not-sent"
        }
    }

    public var description: String {
        switch self {
        case .unreachable(let url, let reason): "\(url) cannot be reached: \(reason)"
        case .timedOut(let url, let seconds): "\(url) gave no complete answer within \(seconds) s"
        case .connectionClosed(let url, let reason): "\(url) closed the connection mid-answer: \(reason)"
        case .httpStatus(let url, let status, let body):
            "\(url) answered HTTP \(status)\(body.isEmpty ? "" : ": \(body)")"
        case .malformedResponse(let url, let reason): "\(url) answered something that is not a model reply: \(reason)"
        case .missingAPIKey(let variable): "the API key variable \(variable) is not set in the environment"
        case .requestNotSent(let url, let reason): "the request to \(url) was not sent: \(reason)"
        }
    }
}

/// A JSON-over-HTTP client for model servers, through libcurl: `llama-server` and any
/// OpenAI-compatible endpoint. Blocking, one request per call, bounded in size and time.
public struct ModelHTTPClient: Sendable {
    public var baseURL: String
    /// Sent as `Authorization: Bearer …` when set.
    public var apiKey: String?
    public var timeoutSeconds: Int
    public var connectTimeoutSeconds: Int
    /// Answers larger than this are refused (a model reply is a few KiB).
    public var maxResponseBytes = 4 << 20

    public init(baseURL: String, apiKey: String? = nil, timeoutSeconds: Int, connectTimeoutSeconds: Int = 5) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.apiKey = apiKey
        self.timeoutSeconds = timeoutSeconds
        self.connectTimeoutSeconds = connectTimeoutSeconds
    }

    public struct Response: Sendable {
        public var status: Int
        public var body: [UInt8]
    }

    /// POSTs `body` as JSON to `path` and returns the 2xx answer's bytes.
    public func postJSON(_ path: String, body: Data) throws(ModelCallError) -> [UInt8] {
        let url = baseURL + path
        let response = try perform(url: url, body: body)
        guard (200..<300).contains(response.status) else {
            let text = String(decoding: response.body.prefix(300), as: UTF8.self)
                .replacingOccurrences(of: "\n", with: " ")
            throw .httpStatus(url: url, status: response.status, body: text)
        }
        return response.body
    }

    /// A GET whose status matters as much as its body (`/health` answers 503 while loading).
    public func get(_ path: String) throws(ModelCallError) -> Response {
        try perform(url: baseURL + path, body: nil)
    }

    private func perform(url: String, body: Data?) throws(ModelCallError) -> Response {
        var headers = ["Content-Type: application/json", "Accept: application/json"]
        // An empty Expect: stops libcurl waiting for "100 Continue" before larger bodies.
        headers.append("Expect:")
        if let apiKey, !apiKey.isEmpty { headers.append("Authorization: Bearer \(apiKey)") }
        let request = CurlHTTPRequest(
            url: url, body: body, headers: headers, timeoutSeconds: timeoutSeconds,
            connectTimeoutSeconds: connectTimeoutSeconds, maxResponseBytes: maxResponseBytes)
        do {
            let response = try CurlHTTPClient.perform(request)
            return Response(status: response.status, body: response.body)
        } catch {
            switch error {
            case .tooLarge:
                throw .malformedResponse(url: url, reason: "the answer is larger than \(ByteCount(maxResponseBytes))")
            case .refusedSetting, .headerWithLineBreak:
                // Never the header itself: it may carry the API key.
                throw .requestNotSent(url: url.count > 200 ? String(url.prefix(200)) + "…" : url, reason: "\(error)")
            case .transfer(let code, let reason):
                switch code {
                case CURLE_OPERATION_TIMEDOUT: throw .timedOut(url: url, seconds: timeoutSeconds)
                case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST: throw .unreachable(url: url, reason: reason)
                case CURLE_GOT_NOTHING, CURLE_RECV_ERROR, CURLE_PARTIAL_FILE, CURLE_SEND_ERROR:
                    throw .connectionClosed(url: url, reason: reason)
                default: throw .unreachable(url: url, reason: reason)
                }
            }
        }
    }
}

/// llama-server's own account of a request, when it gives one (`timings` in its answers).
public struct ServerTimings: Codable, Sendable, Equatable {
    public var promptTokens: Int
    public var promptMilliseconds: Double
    public var predictedTokens: Int
    public var predictedMilliseconds: Double

    public init(promptTokens: Int, promptMilliseconds: Double, predictedTokens: Int, predictedMilliseconds: Double) {
        self.promptTokens = promptTokens
        self.promptMilliseconds = promptMilliseconds
        self.predictedTokens = predictedTokens
        self.predictedMilliseconds = predictedMilliseconds
    }

    /// Generation speed: predicted tokens per second of predicting.
    public var tokensPerSecond: Double {
        predictedMilliseconds > 0 ? Double(predictedTokens) / (predictedMilliseconds / 1000) : 0
    }

    public var totalMilliseconds: Double { promptMilliseconds + predictedMilliseconds }

    enum CodingKeys: String, CodingKey {
        case promptTokens = "prompt_n"
        case promptMilliseconds = "prompt_ms"
        case predictedTokens = "predicted_n"
        case predictedMilliseconds = "predicted_ms"
    }
}

/// One model reply: its text, what it cost, and how long it took.
public struct ModelReply: Sendable, Equatable {
    public var text: String
    public var promptTokens: Int?
    public var completionTokens: Int?
    public var timings: ServerTimings?
    /// Wall time of the HTTP request as this process saw it.
    public var milliseconds: Int

    public init(
        text: String, promptTokens: Int? = nil, completionTokens: Int? = nil, timings: ServerTimings? = nil,
        milliseconds: Int
    ) {
        self.text = text
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.timings = timings
        self.milliseconds = milliseconds
    }
}

/// A chat message in the OpenAI format.
public struct ChatMessage: Codable, Sendable, Equatable {
    public var role: String
    public var content: String

    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}

/// Sampling settings for one request. Temperature 0 and a fixed seed make a reply repeatable
/// (for a fixed thread count: docs/llm-runtime.md); `cache_prompt: false` stops llama-server
/// reusing a previous request's KV cache, which changes the words (measured: docs/benchmarks.md,
/// issue 23).
public struct SamplingOptions: Sendable, Equatable {
    public var temperature: Double = 0
    public var seed: Int = 42
    public var maxTokens: Int = 160
    /// Only llama-server knows `cache_prompt`; a strict OpenAI endpoint would refuse it.
    public var isLlamaServer = true
    /// llama-server's DRY sampler over the whole context, prompt included: a token that would
    /// make a run copied from the takes longer than `allowedRun` tokens is penalized more the
    /// longer the run. A small model asked for the panel's reasons otherwise recites the take's
    /// verdict sentence, which the guard refuses as copied.
    public var discouragesCopying = false
    public static let allowedRun = 6

    public init(
        temperature: Double = 0, seed: Int = 42, maxTokens: Int = 160, isLlamaServer: Bool = true,
        discouragesCopying: Bool = false
    ) {
        self.temperature = temperature
        self.seed = seed
        self.maxTokens = maxTokens
        self.isLlamaServer = isLlamaServer
        self.discouragesCopying = discouragesCopying
    }
}

/// The OpenAI chat API (`POST /v1/chat/completions`) and llama-server's `/completion`.
public struct ChatClient: Sendable {
    public var http: ModelHTTPClient

    public init(http: ModelHTTPClient) {
        self.http = http
    }

    public func chat(model: String, messages: [ChatMessage], options: SamplingOptions) throws(ModelCallError)
        -> ModelReply
    {
        var body: [String: Any] = [
            "model": model, "messages": messages.map { ["role": $0.role, "content": $0.content] },
            "temperature": options.temperature, "seed": options.seed, "max_tokens": options.maxTokens,
            "stream": false,
        ]
        if options.isLlamaServer { body["cache_prompt"] = false }
        if options.isLlamaServer && options.discouragesCopying {
            body["dry_multiplier"] = 0.8
            body["dry_base"] = 1.75
            body["dry_allowed_length"] = SamplingOptions.allowedRun
            // The whole context (the takes are in the prompt); -1 is refused over HTTP.
            body["dry_penalty_last_n"] = 8192
        }
        let started = ContinuousClock.now
        let bytes = try http.postJSON("/v1/chat/completions", body: try Self.encode(body))
        let milliseconds = Self.milliseconds(since: started)
        let url = http.baseURL + "/v1/chat/completions"
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            throw .malformedResponse(url: url, reason: "not a JSON object: \(Self.preview(bytes))")
        }
        guard let choices = object["choices"] as? [[String: Any]], let first = choices.first,
            let message = first["message"] as? [String: Any], let content = message["content"] as? String
        else {
            throw .malformedResponse(url: url, reason: "no choices[0].message.content: \(Self.preview(bytes))")
        }
        let usage = object["usage"] as? [String: Any]
        return ModelReply(
            text: content, promptTokens: usage?["prompt_tokens"] as? Int,
            completionTokens: usage?["completion_tokens"] as? Int, timings: Self.timings(object["timings"]),
            milliseconds: milliseconds)
    }

    /// llama-server's raw completion with a GBNF grammar: the reply can only be a sentence the
    /// grammar allows.
    public func complete(prompt: String, grammar: String, options: SamplingOptions) throws(ModelCallError)
        -> ModelReply
    {
        let body: [String: Any] = [
            "prompt": prompt, "grammar": grammar, "temperature": options.temperature, "seed": options.seed,
            "n_predict": options.maxTokens, "cache_prompt": false, "stream": false,
        ]
        let started = ContinuousClock.now
        let bytes = try http.postJSON("/completion", body: try Self.encode(body))
        let milliseconds = Self.milliseconds(since: started)
        let url = http.baseURL + "/completion"
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
            let content = object["content"] as? String
        else {
            throw .malformedResponse(url: url, reason: "no content: \(Self.preview(bytes))")
        }
        return ModelReply(
            text: content, promptTokens: object["tokens_evaluated"] as? Int,
            completionTokens: object["tokens_predicted"] as? Int, timings: Self.timings(object["timings"]),
            milliseconds: milliseconds)
    }

    /// The model's chat template applied by llama-server itself (`POST /apply-template`), so the
    /// raw `/completion` prompt is formatted the way the model was trained.
    public func applyTemplate(_ messages: [ChatMessage]) throws(ModelCallError) -> String {
        let body: [String: Any] = ["messages": messages.map { ["role": $0.role, "content": $0.content] }]
        let bytes = try http.postJSON("/apply-template", body: try Self.encode(body))
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
            let prompt = object["prompt"] as? String
        else {
            throw .malformedResponse(url: http.baseURL + "/apply-template", reason: "no prompt: \(Self.preview(bytes))")
        }
        return prompt
    }

    static func timings(_ value: Any?) -> ServerTimings? {
        guard let value = value as? [String: Any],
            let data = try? JSONSerialization.data(withJSONObject: value)
        else { return nil }
        return try? JSONDecoder().decode(ServerTimings.self, from: data)
    }

    static func encode(_ body: [String: Any]) throws(ModelCallError) -> Data {
        do {
            return try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
        } catch {
            throw .malformedResponse(url: "(request)", reason: "the request could not be encoded: \(error)")
        }
    }

    public static func milliseconds(since start: ContinuousClock.Instant) -> Int {
        let elapsed = ContinuousClock.now - start
        return Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
    }

    private static func preview(_ bytes: [UInt8]) -> String {
        let text = String(decoding: bytes.prefix(120), as: UTF8.self).replacingOccurrences(of: "\n", with: " ")
        return text.isEmpty ? "(empty body)" : "\"\(text)\""
    }
}
