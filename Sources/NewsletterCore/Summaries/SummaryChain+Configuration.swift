import Foundation

extension SummaryChain {
    /// The chain `[summaries]` describes: the local runtime, the configured endpoints, the
    /// grammar-constrained extractive step, and (always, implicitly) the deterministic summary.
    /// The supervisor is made only when the local runtime is in the chain; the caller stops it.
    public static func configured(
        _ settings: SummarySettings, store: (any SummaryStore)?,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> (chain: SummaryChain, supervisor: LlamaServerSupervisor?) {
        // Disabled: no model, but an editor's override still wins.
        guard settings.enabled else { return (SummaryChain(providers: [], store: store), nil) }
        var providers: [any SummaryProvider] = []
        var supervisor: LlamaServerSupervisor?
        var local: LocalRuntimeConnection?
        if settings.local || settings.grammarFallback {
            let paths = settings.runtimePaths(environment: environment)
            var runtime = LlamaServerSupervisor.Settings(serverPath: paths.server, modelPath: paths.model)
            if settings.threads > 0 { runtime.threads = settings.threads }
            runtime.contextSize = settings.contextSize
            runtime.startupTimeoutSeconds = settings.startupTimeoutSeconds
            supervisor = LlamaServerSupervisor(settings: runtime)
            local = LocalRuntimeConnection(
                supervisor: supervisor!, timeoutSeconds: settings.requestTimeoutSeconds, maxTokens: settings.maxTokens)
        }
        if settings.local, let local { providers.append(ChatSummaryProvider(connection: local)) }
        for endpoint in settings.endpoints {
            providers.append(
                ChatSummaryProvider(connection: RemoteEndpointConnection(settings: endpoint, environment: environment)))
        }
        if settings.grammarFallback, let local { providers.append(GrammarExtractiveProvider(connection: local)) }
        let checks = SummaryGuard(minimumWords: settings.minimumWords, maximumWords: settings.maximumWords)
        let chain = SummaryChain(
            providers: providers, store: store, checks: checks, attemptsPerProvider: settings.attempts,
            seed: settings.seed)
        return (chain, supervisor)
    }
}
