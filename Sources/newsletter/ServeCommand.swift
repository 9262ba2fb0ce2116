import ArgumentParser
import Hummingbird
import NewsletterCore

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Run the HTTP server: signup with double opt-in, preferences, one-click unsubscribe, the archive, editor pages.",
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
        let components = try global.components()
        let settings = components.configuration
        // Opened here, so the server works on the store itself, whichever backend.
        func serve(_ store: some NewsletterStore) async throws {
            let app = try buildApplication(components: components, store: store, address: .hostname(host, port: port))
            components.logger.info(
                "serving",
                metadata: [
                    "address": "\(host):\(port)", "editor": "\(settings.editor.token == nil ? "off" : "on")",
                    "transport": "\(components.endpointTransport().name)",
                ])
            try await app.runService()
        }
        // Opened here, not run: the application's ServiceGroup runs the store's pool.
        try await serve(try await StoreFactory.open(settings.store, logger: components.logger))
    }
}
