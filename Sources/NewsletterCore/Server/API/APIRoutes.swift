import Foundation
import Hummingbird
import Logging
import NewsletterAPI
import OpenAPIHummingbird
import OpenAPIRuntime

/// `/api/v1`: the document at `/api/v1/openapi.json` (as it is in the source tree, so what a
/// client reads is what the server was generated from) and every operation in it behind
/// `APIGate`.
struct APIRoutes<Store: NewsletterStore> {
    let store: Store
    let aliases: TopicAliases
    let server: Configuration.Server
    let policy: SignupPolicy
    let webhooks: WebhookSettings
    let wakeup: Wakeup?
    let time: any TimeSource
    let logger: Logger

    static var prefix: String { "/api/v1" }

    /// Compact JSON: the runtime's default pretty-prints and sorts every object's keys, which
    /// cost more than reading the page from the store.
    static var coding: OpenAPIRuntime.Configuration {
        OpenAPIRuntime.Configuration(dateTranscoder: APIDateTranscoder(), jsonEncodingOptions: [])
    }

    func register(on router: Router<EndpointRequestContext>) throws {
        router.get("\(Self.prefix)/openapi.json") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(bytes: APIDocument.json)))
        }
        let gate = APIGate(
            keys: store,
            limiter: RateLimiter(
                perMinute: server.apiRequestsPerMinute, burst: server.apiBurst, maxKeys: 10_000, time: time),
            time: time, maxBodyBytes: server.apiMaxBodyBytes, logger: logger)
        try APIHandler(
            store: store, aliases: aliases, policy: policy, wakeup: wakeup, time: time,
            audit: AuditLog(store: store, time: time), webhooks: webhooks)
            .registerHandlers(
                on: router, serverURL: URL(string: Self.prefix)!, configuration: Self.coding, middlewares: [gate])
    }
}
