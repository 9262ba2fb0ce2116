import Foundation

/// `[summaries]`: the provider chain and its guard.
public struct SummarySettings: Sendable, Equatable {
    /// false: no model at all, the deterministic extractive summaries only.
    public var enabled = true
    /// true: a model provider that cannot serve (the runtime missing, say) fails the command
    /// (exit 70) after the preview is written with fallbacks; false: only a notice.
    public var strict = false
    /// The bundled runtime first in the chain.
    public var local = true
    /// nil: the cache layout of `scripts/build-runtime.sh` (see `RuntimePaths`).
    public var llamaServer: String?
    /// A preset's name (`ModelPreset`: `qwen2.5-coder-1.5b`, the default, or `smollm2-135m`) or a
    /// GGUF file's path; nil: the default preset.
    public var model: String?
    /// 0: one per core.
    public var threads = 0
    public var contextSize = 4096
    public var startupTimeoutSeconds = 60
    public var requestTimeoutSeconds = 120
    /// Guarded attempts per provider (first try plus retries with another seed, tighter prompt).
    public var attempts = 3
    public var seed = 42
    /// The grammar-constrained extractive step after the abstractive providers (local runtime only).
    public var grammarFallback = true
    public var minimumWords = 12
    public var maximumWords = 110
    public var maxTokens = 160
    public var endpoints: [RemoteEndpointConnection.Settings] = []

    public init() {}

    /// The llama-server binary and model this configuration means, defaults resolved.
    public func runtimePaths(environment: [String: String] = ProcessInfo.processInfo.environment) -> RuntimePaths {
        let defaults = RuntimePaths.defaults(environment: environment)
        let modelPath = model.map { name in
            ModelPreset(rawValue: name).map { RuntimePaths.cachedModel($0, environment: environment) } ?? name
        }
        return RuntimePaths(server: llamaServer ?? defaults.server, model: modelPath ?? defaults.model)
    }
}

/// The models `scripts/build-runtime.sh` fetches, by the name `summaries.model` may give.
public enum ModelPreset: String, Sendable, CaseIterable {
    /// Qwen2.5-Coder-1.5B-Instruct, Q4_K_M: the default. 1.1 GB download, ~1.9 GB resident.
    case qwen25Coder15B = "qwen2.5-coder-1.5b"
    /// SmolLM2-135M-Instruct, Q4_1: for small machines. 98 MB, ~0.2 GB resident; its summaries
    /// are mostly refused by the guard, so the digest ships the grammar step's quotations.
    case smolLM2135M = "smollm2-135m"

    public static let `default` = ModelPreset.qwen25Coder15B

    /// The file name in the cache, keyed by the version of the package that carries it.
    public var fileName: String {
        switch self {
        case .qwen25Coder15B: "qwen2.5-coder-1.5b-instruct-q4_k_m-\(RuntimePaths.qwenPartsPackageVersion).gguf"
        case .smolLM2135M: "smollm2-135m-instruct-q4_1-\(RuntimePaths.smolLM2PackageVersion).gguf"
        }
    }
}

/// Where the runtime lives. The defaults follow `scripts/build-runtime.sh`'s cache layout:
/// `${NEWSLETTER_CACHE:-~/.cache/newsletter}/llama-server-<llama-cpp-python version>/bin/llama-server`
/// and `…/models/<the default preset's file>` (`ModelPreset.fileName`). Keep the versions here in
/// step with the script's pins. `NEWSLETTER_LLAMA_SERVER` and `NEWSLETTER_MODEL`
/// override them (the tests and the benchmark use them).
public struct RuntimePaths: Sendable, Equatable {
    public var server: String
    public var model: String

    public init(server: String, model: String) {
        self.server = server
        self.model = model
    }

    public static let llamaCppPythonVersion = "0.3.36"
    public static let smolLM2PackageVersion = "0.1.2"
    public static let qwenPartsPackageVersion = "0.2.0"

    static func cacheRoot(environment: [String: String]) -> String {
        let home = environment["HOME"] ?? NSHomeDirectory()
        return environment["NEWSLETTER_CACHE"].flatMap { $0.isEmpty ? nil : $0 } ?? "\(home)/.cache/newsletter"
    }

    /// Where the build script caches a preset's GGUF.
    public static func cachedModel(
        _ preset: ModelPreset, environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> String {
        "\(cacheRoot(environment: environment))/models/\(preset.fileName)"
    }

    public static func defaults(environment: [String: String] = ProcessInfo.processInfo.environment) -> RuntimePaths {
        let cache = cacheRoot(environment: environment)
        return RuntimePaths(
            server: environment["NEWSLETTER_LLAMA_SERVER"].flatMap { $0.isEmpty ? nil : $0 }
                ?? "\(cache)/llama-server-\(llamaCppPythonVersion)/bin/llama-server",
            model: environment["NEWSLETTER_MODEL"].flatMap { $0.isEmpty ? nil : $0 }
                ?? cachedModel(.default, environment: environment))
    }
}

extension SettingsReader {
    static let summaryKeys = [
        "summaries.enabled", "summaries.strict", "summaries.local", "summaries.llama_server", "summaries.model",
        "summaries.threads", "summaries.context_size", "summaries.startup_timeout_seconds",
        "summaries.request_timeout_seconds", "summaries.attempts", "summaries.seed", "summaries.grammar_fallback",
        "summaries.min_words", "summaries.max_words", "summaries.max_tokens", "summaries.endpoints",
    ]
    static let endpointKeys = [
        "name", "base_url", "model", "api_key_env", "timeout_seconds", "retries", "requests_per_minute", "max_tokens",
    ]

    mutating func summaries() throws(ConfigurationError) -> SummarySettings {
        var settings = SummarySettings()
        settings.enabled = try bool("summaries.enabled") ?? settings.enabled
        settings.strict = try bool("summaries.strict") ?? settings.strict
        settings.local = try bool("summaries.local") ?? settings.local
        settings.llamaServer = try path("summaries.llama_server")
        settings.model = try path("summaries.model")
        if let model = settings.model, ModelPreset(rawValue: model) == nil, !model.contains("/"),
            !model.lowercased().hasSuffix(".gguf")
        {
            throw invalid(
                "summaries.model",
                "\"\(model)\" is neither a preset (\(ModelPreset.allCases.map(\.rawValue).joined(separator: ", "))) nor the path of a .gguf file"
            )
        }
        settings.threads = try integer("summaries.threads", in: 0...256) ?? settings.threads
        settings.contextSize = try integer("summaries.context_size", in: 512...131_072) ?? settings.contextSize
        settings.startupTimeoutSeconds =
            try integer("summaries.startup_timeout_seconds", in: 1...3600) ?? settings.startupTimeoutSeconds
        settings.requestTimeoutSeconds =
            try integer("summaries.request_timeout_seconds", in: 1...3600) ?? settings.requestTimeoutSeconds
        settings.attempts = try integer("summaries.attempts", in: 1...10) ?? settings.attempts
        settings.seed = try integer("summaries.seed", in: 0...Int(Int32.max)) ?? settings.seed
        settings.grammarFallback = try bool("summaries.grammar_fallback") ?? settings.grammarFallback
        settings.minimumWords = try integer("summaries.min_words", in: 1...500) ?? settings.minimumWords
        settings.maximumWords = try integer("summaries.max_words", in: 5...1000) ?? settings.maximumWords
        if settings.minimumWords >= settings.maximumWords {
            throw invalid(
                "summaries.min_words",
                "\(settings.minimumWords) is not below summaries.max_words (\(settings.maximumWords))")
        }
        settings.maxTokens = try integer("summaries.max_tokens", in: 16...4096) ?? settings.maxTokens
        settings.endpoints = try endpoints()
        return settings
    }

    /// `[[summaries.endpoints]]`: an array of tables, each checked key by key like the rest.
    private mutating func endpoints() throws(ConfigurationError) -> [RemoteEndpointConnection.Settings] {
        let key = "summaries.endpoints"
        consumed.insert(key)
        guard let value = values[key] else { return [] }
        guard value.type == .array, let array = value.array else {
            throw invalid(key, "must be an array of tables ([[summaries.endpoints]]), not a single value")
        }
        var result: [RemoteEndpointConnection.Settings] = []
        for (index, element) in array.enumerated() {
            let prefix = "summaries.endpoints[\(index + 1)]"
            guard element.type == .table, let table = element.table else {
                throw invalid(prefix, "must be a table with name, base_url and model")
            }
            var inner = SettingsReader(file: file, values: SettingsReader.flatten(table, prefix: prefix))
            guard let name = try inner.string("\(prefix).name", nonEmpty: true) else {
                throw invalid("\(prefix).name", "is required")
            }
            guard let baseURL = try inner.httpURL("\(prefix).base_url") else {
                throw invalid(
                    "\(prefix).base_url", "is required (e.g. \"https://api.example.com/v1\" without /chat/completions)")
            }
            guard let model = try inner.string("\(prefix).model", nonEmpty: true) else {
                throw invalid("\(prefix).model", "is required")
            }
            let apiKeyEnvironment = try inner.string("\(prefix).api_key_env", nonEmpty: true)
            // An API key goes in a header: never in clear text past this machine.
            if apiKeyEnvironment != nil, let url = URL(string: baseURL), url.scheme?.lowercased() == "http",
                !["127.0.0.1", "localhost", "::1", "[::1]"].contains(url.host?.lowercased() ?? "")
            {
                throw invalid(
                    "\(prefix).base_url", "\"\(baseURL)\" would send the API key in clear text: use https:// (http:// only on loopback)")
            }
            var endpoint = RemoteEndpointConnection.Settings(
                name: name, baseURL: baseURL.hasSuffix("/v1") ? String(baseURL.dropLast(3)) : baseURL, model: model,
                apiKeyEnvironment: apiKeyEnvironment)
            endpoint.timeoutSeconds =
                try inner.integer("\(prefix).timeout_seconds", in: 1...3600) ?? endpoint.timeoutSeconds
            endpoint.retries = try inner.integer("\(prefix).retries", in: 0...10) ?? endpoint.retries
            endpoint.requestsPerMinute =
                try inner.integer("\(prefix).requests_per_minute", in: 0...100_000) ?? endpoint.requestsPerMinute
            endpoint.maxTokens = try inner.integer("\(prefix).max_tokens", in: 16...4096) ?? endpoint.maxTokens
            for unknown in inner.values.keys.sorted() where !inner.consumed.contains(unknown) {
                throw .unknownKey(file: file, key: unknown, known: Self.endpointKeys.map { "\(prefix).\($0)" })
            }
            result.append(endpoint)
        }
        if Set(result.map(\.name)).count != result.count {
            throw invalid(key, "two endpoints have the same name")
        }
        return result
    }
}
