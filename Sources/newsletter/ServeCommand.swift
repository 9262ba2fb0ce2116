import ArgumentParser
import Hummingbird
import NewsletterCore

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the HTTP server for subscribers: one-click unsubscribe (and, next, signup).",
        discussion: "Stops gracefully on SIGTERM or SIGINT. The links in sent issues point at server.public_url."
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
        let router = Router()
        SubscriberRoutes(store: try context.openStore(), templates: templates, settings: settings.issue).register(
            on: router)
        let app = Application(
            router: router, configuration: .init(address: .hostname(host, port: port), serverName: "newsletter"),
            logger: context.logger)
        try await app.runService()
    }
}
