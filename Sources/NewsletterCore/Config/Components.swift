import Foundation
import Logging

/// What the commands and the server run with, made from the configuration in one place: the
/// store, the templates, the delivery settings, the transports, the summary chain, the bounce
/// processor and the page fetcher. Each failure is an error that carries its exit status.
public struct Components: Sendable {
    public var configuration: Configuration
    public var logger: Logger

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// The configured store (SQLite, or PostgreSQL under `store.url`): exit status 74 when it
    /// cannot be reached, 78 when it is set up wrongly.
    public func withStore<T>(
        isolation: isolated (any Actor)? = #isolation, _ body: (any NewsletterStore) async throws -> T
    ) async throws -> T {
        try await StoreFactory.withStore(configuration.store, logger: logger, isolation: isolation, body)
    }

    /// The templates, checked (exit status 78 for a broken one).
    public func templates() throws(TemplateError) -> TemplateSet {
        try TemplateSet.load(directory: configuration.templatesDirectory)
    }

    /// What messages are sent with; a bad `mail.from` is exit status 78.
    public func delivery() throws(InvalidSetting) -> DeliverySettings {
        do {
            return try configuration.deliverySettings()
        } catch {
            throw InvalidSetting(key: "mail.from", reason: error)
        }
    }

    /// The transport of the week's issue: SMTP when `smtp.url` is set, else `.eml` files.
    public func transport(for week: IssueWeek) -> any MailTransport { configuration.transport(for: week) }

    /// The transport of the server's mail (confirmations, welcomes, the editor's test copies).
    public func endpointTransport() -> any MailTransport { configuration.endpointTransport() }

    /// The summary chain `summaries.providers` names, and the local model's supervisor when one
    /// is configured (the caller stops it).
    public func summaryChain(store: (any SummaryStore)?) -> (chain: SummaryChain, supervisor: LlamaServerSupervisor?) {
        SummaryChain.configured(configuration.summaries, store: store)
    }

    /// The bounce rule and parser the mailbox, `bounces import` and the webhook share.
    public func bounceProcessor<Store: BounceStore>(store: Store, time: any TimeSource = SystemTime())
        -> BounceProcessor<Store>
    {
        BounceProcessor(
            store: store, verp: configuration.bounces.verp,
            rule: BounceRule(
                softBounceLimit: configuration.mail.bounceAfter, softBounceWindow: configuration.bounces.window),
            maxMessageBytes: configuration.bounces.maxMessageBytes, time: time)
    }

    /// Reads the bounce mailbox under the data directory's bounces.lock, so `bounces fetch` and
    /// `run` never read it at once; nil when another fetch holds the lock.
    public func fetchBounces(
        _ mailbox: MailboxClient.Settings, store: some BounceStore, observer: (any BounceIntakeObserver)?
    ) async throws -> BounceIntakeSummary? {
        let path = (configuration.dataDirectory as NSString).appendingPathComponent("bounces.lock")
        guard let lock = try? RunLock(path: path) else { return nil }
        defer { withExtendedLifetime(lock) {} }
        return try await bounceProcessor(store: store).fetch(
            from: MailboxClient(settings: mailbox), observer: observer, logger: logger)
    }

    /// What `ingest` and `run` read comparison pages with.
    public func fetcher() -> CurlFetcher {
        let ingest = configuration.ingest
        return CurlFetcher(
            maxBytes: ingest.maxPageBytes, timeoutSeconds: ingest.timeoutSeconds,
            connectTimeoutSeconds: ingest.connectTimeoutSeconds, userAgent: ingest.userAgent)
    }
}
