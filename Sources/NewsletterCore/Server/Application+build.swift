import Hummingbird
import Logging
import ServiceLifecycle

/// What the server is built from besides the configuration and the store: the pieces a test
/// replaces (the clock, the summary chain), and the metrics a test reads.
public struct ServerDependencies: Sendable {
    public var time: any TimeSource = SystemTime()
    public var metrics = EndpointMetrics()
    /// The chain whose stored summaries the editor page rebuilds drafts from; nil: the configured
    /// one. Either way no model is asked (the server never starts the model runtime).
    public var summaries: SummaryChain?
    /// False leaves the endpoint mail queue unsent, for a test that reads it as the routes left it.
    public var sendsEndpointMail = true
    /// False leaves the webhook outbox unsent (a test drains it by hand, on its own clock).
    public var sendsWebhooks = true
    /// False when the caller runs the store's pool already (a test's store, opened running).
    public var runsStorePool = true
    /// The counter the redirect counts into; nil: one made from `tracking.flush_seconds`.
    public var clicks: ClickCounter?
    /// False leaves the click counter out of the services (nothing flushes it on its own), for
    /// a route test that must not run a ServiceGroup (TestServer says why).
    public var flushesClicks = true

    public init() {}
}

/// The templates the server renders, checked before it listens, so a missing one is exit
/// status 78 at start rather than a 500 on the first request.
public enum ServerTemplates {
    public static let subscriberPages = [
        "pages/signup.html", "pages/check-inbox.html", "pages/confirm.html", "pages/confirmed.html",
        "pages/unsubscribe.html", "pages/unsubscribed.html", "pages/preferences.html", "pages/message.html",
        "pages/erase-confirm.html", "pages/erased.html",
    ]
    /// The editor's pages and the parts they share (layout, chart).
    public static let editorPages = [
        "pages/editor-issues.html", "pages/editor-issue.html", "pages/editor-report.html", "pages/editor-reports.html",
        "pages/editor-head.html", "pages/editor-foot.html", "pages/editor-chart.html", "pages/editor-login.html",
        "pages/editor-invite.html", "pages/editor-audit.html", "pages/editor-users.html", "pages/editor-webhooks.html",
        "pages/editor-keys.html",
    ]
    /// Confirmations and welcomes, sent by the endpoint mail queue.
    public static let endpointMail = ["confirmation", "welcome"].flatMap {
        ["mail/\($0).txt", "mail/\($0).html", "mail/\($0)-subject.txt"]
    }
    public static var all: [String] { subscriberPages + editorPages + endpointMail + ArchivePages.templateNames }
}

/// The server `newsletter serve` runs: the router with its middleware and route groups, and the
/// endpoint mail queue and the webhook outbox as services of the application. The route tests run this same assembly
/// through `app.test(.router)`.
public func buildApplication<Store: NewsletterStore>(
    components: Components, store: Store, address: BindAddress = .hostname("127.0.0.1", port: 8080),
    dependencies: ServerDependencies = .init()
) throws -> some ApplicationProtocol {
    let settings = components.configuration
    let templates = try components.templates()
    try templates.require(ServerTemplates.all)
    let delivery = try components.delivery()
    let transport = components.endpointTransport()
    let wakeup = Wakeup()
    let providers = try settings.bounces.providers.webhooks(time: dependencies.time)
    let clicks =
        dependencies.clicks
        ?? ClickCounter(
            store: store, interval: .seconds(settings.server.clickFlushSeconds), time: dependencies.time,
            logger: components.logger)
    let router = try buildRouter(
        components: components, store: store, templates: templates, delivery: delivery, transport: transport,
        wakeup: wakeup, clicks: clicks, providers: providers, dependencies: dependencies)
    let queue = EndpointMailQueue(
        store: store, transport: transport, templates: templates, delivery: delivery, issue: settings.issue,
        policy: settings.signup, logger: components.logger, wakeup: wakeup, metrics: dependencies.metrics)
    // The store's pool first: the routes and the queue wait on it.
    var services: [any Service] = []
    if dependencies.runsStorePool, let runner = store.runner { services.append(runner) }
    if dependencies.sendsEndpointMail { services.append(queue) }
    if dependencies.sendsWebhooks {
        services.append(
            WebhookDispatcher(
                store: store, settings: settings.webhooks, time: dependencies.time, logger: components.logger))
    }
    // After the store's pool, so it stops before it: its last flush on SIGTERM still has the store.
    if dependencies.flushesClicks { services.append(clicks) }
    return Application(
        router: router, configuration: .init(address: address, serverName: "newsletter"),
        services: services,
        logger: components.logger)
}

/// The routes and middleware; the editor pages exist only with an editor token, the bounce
/// webhook only with its own.
func buildRouter<Store: NewsletterStore>(
    components: Components, store: Store, templates: TemplateSet, delivery: DeliverySettings,
    transport: any MailTransport, wakeup: Wakeup, clicks: ClickCounter, providers: [any ProviderWebhook],
    dependencies: ServerDependencies
) throws -> Router<EndpointRequestContext> {
    let settings = components.configuration
    let pages = PageRenderer(templates: templates, settings: settings.issue)
    let metrics = dependencies.metrics
    let router = Router(context: EndpointRequestContext.self)
    router.middlewares.add(RequestMetricsMiddleware(metrics: metrics))
    SubscriberRoutes(
        store: store, pages: pages, server: settings.server, policy: settings.signup, metrics: metrics, wakeup: wakeup,
        time: dependencies.time
    ).register(on: router)
    ClickRoutes(
        store: store, counter: clicks, readerKey: settings.clickReaderKey,
        trustForwardedFor: settings.server.trustForwardedFor
    ).register(on: router)
    ArchiveRoutes(store: store, archive: ArchivePages(templates: templates, settings: settings.issue), pages: pages)
        .register(on: router)
    let chain = dependencies.summaries ?? components.summaryChain(store: store).chain
    let drafts = IssuePreview(
        store: store, templates: templates, settings: settings.issue, outboxDirectory: settings.outboxDirectory,
        summarizer: chain.askingNoModel())
    var editor = EditorRoutes(
        store: store, pages: pages, token: settings.editor.token, metrics: metrics, delivery: delivery,
        transport: transport, logger: components.logger, drafts: drafts)
    editor.time = dependencies.time
    editor.accounts = settings.editor
    editor.trustForwardedFor = settings.server.trustForwardedFor
    editor.register(on: router)
    BounceWebhookRoutes(
        processor: components.bounceProcessor(store: store, time: dependencies.time),
        token: settings.bounces.webhookToken
    ).register(on: router)
    ProviderWebhookRoutes(
        processor: components.bounceProcessor(store: store, time: dependencies.time), providers: providers,
        metrics: metrics
    ).register(on: router)
    try APIRoutes(
        store: store, aliases: settings.issue.topics, server: settings.server, policy: settings.signup,
        webhooks: settings.webhooks, wakeup: wakeup, time: dependencies.time,
        logger: components.logger
    ).register(on: router)
    return router
}
