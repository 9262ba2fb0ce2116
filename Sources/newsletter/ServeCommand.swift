import ArgumentParser
import Hummingbird
import Logging
import NewsletterCore
import ServiceLifecycle

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the HTTP server: signup with double opt-in, preferences, one-click unsubscribe, the archive, editor pages.",
        discussion: """
            Confirmation and welcome mails go out from a queue in the store, in the background, \
            through the configured transport (SMTP, or .eml files under outbox/endpoint-mail/). \
            The editor pages exist only when NEWSLETTER_EDITOR_TOKEN (or editor.token) is set; \
            POST /webhooks/bounces only when NEWSLETTER_BOUNCES_WEBHOOK_TOKEN (or bounces.webhook_token) is. \
            Stops gracefully on SIGTERM or SIGINT. Links in mail point at server.public_url.
            """
    )

    @OptionGroup var global: GlobalOptions
    @Option(help: "The address to listen on.") var host = "127.0.0.1"
    @Option(help: "The port to listen on.") var port = 8080

    func validate() throws {
        guard (1...65535).contains(port) else { throw ValidationError("--port must be 1–65535") }
    }

    func run() async throws {
        let context = try global.context()
        let settings = context.configuration
        let templates = try context.loadTemplates()
        do {
            try templates.require(
                SubscriberRoutes<AppDatabase>.templateNames + EditorRoutes<AppDatabase>.templateNames
                    + EndpointMailQueue<AppDatabase>.templateNames + ArchivePages.templateNames)
        } catch {
            Terminal.printError("\(error)")
            throw ExitCode(ExitStatus.configurationError.rawValue)
        }
        let delivery = try context.deliverySettings()
        let store = try context.openStore()
        // Opened here, so everything below works on the store itself, whichever backend.
        func proceed(_ store: some NewsletterStore) async throws {
            let pages = PageRenderer(templates: templates, settings: settings.issue)
            let metrics = EndpointMetrics()
            let wakeup = Wakeup()
            let transport = settings.endpointTransport()

            let router = Router(context: EndpointRequestContext.self)
            router.middlewares.add(RequestMetricsMiddleware(metrics: metrics))
            SubscriberRoutes(
                store: store, pages: pages, server: settings.server, policy: settings.signup, metrics: metrics,
                wakeup: wakeup
            ).register(on: router)
            ArchiveRoutes(
                store: store, archive: ArchivePages(templates: templates, settings: settings.issue), pages: pages
            ).register(on: router)
            // The editor page rebuilds drafts from stored summaries only: the model runtime is
            // never started by the server (its supervisor is dropped unused).
            let (chain, _) = SummaryChain.configured(settings.summaries, store: store)
            let drafts = IssuePreview(
                store: store, templates: templates, settings: settings.issue, outboxDirectory: settings.outboxDirectory,
                summarizer: chain.askingNoModel())
            EditorRoutes(
                store: store, pages: pages, token: settings.editor.token, metrics: metrics, delivery: delivery,
                transport: transport, logger: context.logger, drafts: drafts
            ).register(on: router)
            BounceWebhookRoutes(
                processor: BounceCLI.processor(store: store, settings: settings), token: settings.bounces.webhookToken
            ).register(on: router)
            let app = Application(
                router: router, configuration: .init(address: .hostname(host, port: port), serverName: "newsletter"),
                logger: context.logger)
            let queue = EndpointMailQueue(
                store: store, transport: transport, templates: templates, delivery: delivery, issue: settings.issue,
                policy: settings.signup, logger: context.logger, wakeup: wakeup, metrics: metrics)
            context.logger.info(
                "serving", metadata: [
                    "address": "\(host):\(port)", "editor": "\(settings.editor.token == nil ? "off" : "on")",
                    "transport": "\(transport.name)",
                ])
            let group = ServiceGroup(
                configuration: .init(
                    services: [.init(service: app), .init(service: queue)], gracefulShutdownSignals: [.sigterm, .sigint],
                    logger: context.logger))
            try await group.run()
        }
        try await proceed(store)
    }
}
