import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The routes subscribers use: signup with double opt-in, preferences, and the one-click
/// unsubscribe of RFC 8058.
///
/// - `GET /` shows the signup form (plain HTML, no JavaScript). `POST /subscribe` (form or
///   JSON) answers "check your inbox" whatever the address's state, so the answer tells nobody
///   who is on the list; the confirmation goes out through ``EndpointMailQueue``.
/// - `GET /confirm/TOKEN`, `GET /unsubscribe/TOKEN` only show a page with a button (mail
///   scanners follow GETs); the `POST` does the deed, at once, with no login, never redirects,
///   and is idempotent.
/// - `GET`/`POST /preferences/TOKEN` (the unsubscribe token of any mail): name, format, pause,
///   topics; `GET /preferences/TOKEN/data` and `POST /preferences/TOKEN/erase`, the reader's own
///   data (SubscriberRoutes+ReaderData.swift).
/// - Signup and preferences offer the store's topics as checkboxes; none ticked is everything.
public struct SubscriberRoutes<Store: SubscriberEndpointStore & TopicStore & ReaderDataStore>: Sendable {
    public var store: Store
    public var pages: PageRenderer
    public var server: Configuration.Server
    public var policy: SignupPolicy
    public var metrics: EndpointMetrics
    public var wakeup: Wakeup?
    /// The clock for expiry, consent records and the rate limit.
    public let time: any TimeSource
    let postLimiter: RateLimiter
    /// The answer to every signup is the same page: rendered once (the templates are read once,
    /// when `serve` starts), not per request.
    let checkInboxPage: Response

    public init(
        store: Store, pages: PageRenderer, server: Configuration.Server = .init(), policy: SignupPolicy = .init(),
        metrics: EndpointMetrics = .init(), wakeup: Wakeup? = nil, time: any TimeSource = SystemTime()
    ) {
        self.store = store
        self.pages = pages
        self.server = server
        self.policy = policy
        self.metrics = metrics
        self.wakeup = wakeup
        self.time = time
        postLimiter = RateLimiter(perMinute: server.postsPerMinutePerClient, time: time)
        checkInboxPage = pages.page("check-inbox", ["title": "Check your inbox"])
    }

    public func register(on router: Router<some RequestContext>) {
        registerReaderData(on: router)
        router.get("/healthz") { _, _ in "ok\n" }
        router.get("/") { _, _ in
            let catalog = try await store.topicCatalog(aliases: pages.settings.topics)
            var values: [String: Any] = ["title": "Subscribe", "action": "/subscribe"]
            for (key, value) in Self.topicValues(catalog, chosen: .everything) { values[key] = value }
            return pages.page("signup", values)
        }
        router.post("/subscribe") { request, context in
            let wantsJSON = SubscriberInput.wantsJSON(request)
            do {
                let client = try admit(request, context)
                let fields = try await formFields(request)
                // Bots fill every field; people never see this one.
                if !(fields["website"] ?? "").isEmpty {
                    metrics.count(.honeypot)
                    return checkInbox(json: wantsJSON)
                }
                let address = try SubscriberInput.emailAddress(fields["email"])
                let name = try SubscriberInput.displayName(fields["name"])
                // One hop to a store thread and one transaction: the topic catalog is read only
                // when the form offers topics, and only an address about to be confirmed takes
                // the form's topics (a signup for a confirmed address must not change what its
                // owner chose).
                let aliases = pages.settings.topics
                var choice: TopicChoice?
                if SubscriberInput.offersTopics(fields) {
                    choice = try SubscriberInput.topicChoice(
                        fields, catalog: try await store.topicCatalog(aliases: aliases), aliases: aliases)
                }
                let outcome = try await store.requestSignup(
                    address, name: name, topics: choice ?? .everything, client: client, policy: policy,
                    at: time.now())
                switch outcome {
                case .confirmationQueued:
                    metrics.count(.signup)
                    wakeup?.signal()
                case .throttled, .alreadyConfirmed:
                    metrics.count(.signupThrottled)
                }
                return checkInbox(json: wantsJSON)
            } catch let error as BadRequest {
                return pages.failure(error, json: wantsJSON)
            }
        }
        router.get("/confirm/:token") { _, context in
            let token = try context.parameters.require("token")
            guard SubscriberInput.looksLikeToken(token) else { return pages.unknownLink() }
            switch try await store.confirmationLink(token: token, at: time.now()) {
            case .valid(let email):
                return pages.page("confirm", ["title": "Confirm", "email": email, "action": "/confirm/\(token)"])
            case .used: return pages.usedConfirmation()
            case .expired: return pages.expiredConfirmation()
            case .unknown: return pages.unknownLink()
            }
        }
        router.post("/confirm/:token") { request, context in
            do {
                let client = try admit(request, context)
                _ = try await body(request)
                let token = try context.parameters.require("token")
                guard SubscriberInput.looksLikeToken(token) else { return pages.unknownLink() }
                switch try await store.confirm(token: token, client: client, at: time.now()) {
                case .confirmed(let email):
                    metrics.count(.confirmation)
                    wakeup?.signal()
                    return pages.page("confirmed", ["title": "Subscribed", "email": email])
                case .used: return pages.usedConfirmation()
                case .expired: return pages.expiredConfirmation()
                case .unknown: return pages.unknownLink()
                }
            } catch let error as BadRequest {
                return pages.failure(error, json: false)
            }
        }
        router.get("/unsubscribe/:token") { _, context in
            let token = try context.parameters.require("token")
            guard SubscriberInput.looksLikeToken(token),
                let subscriber = try await store.subscriber(unsubscribeToken: token)
            else { return pages.unknownLink() }
            return pages.page(
                "unsubscribe",
                ["title": "Unsubscribe", "email": subscriber.email, "action": "/unsubscribe/\(token)"])
        }
        router.post("/unsubscribe/:token") { request, context in
            do {
                // Not rate limited: RFC 8058 posts come from a few mail providers' servers, all at
                // once after a send, and each must be honoured; the 256-bit token is the guard.
                let client = SubscriberInput.client(request, context, trustForwardedFor: server.trustForwardedFor)
                // The body (RFC 8058's "List-Unsubscribe=One-Click", form-urlencoded or multipart,
                // or the page's empty form) does not change what happens, but an oversized one is
                // refused.
                _ = try await body(request)
                let token = try context.parameters.require("token")
                guard SubscriberInput.looksLikeToken(token) else { return pages.unknownLink() }
                switch try await store.unsubscribe(token: token, client: client, at: time.now()) {
                case .unsubscribed(let email):
                    metrics.count(.unsubscribe)
                    return pages.page("unsubscribed", ["title": "Unsubscribed", "email": email])
                case .alreadyUnsubscribed(let email):
                    return pages.page("unsubscribed", ["title": "Unsubscribed", "email": email])
                case .unknownToken:
                    return pages.unknownLink()
                }
            } catch let error as BadRequest {
                return pages.failure(error, json: false)
            }
        }
        router.get("/preferences/:token") { _, context in
            let token = try context.parameters.require("token")
            guard SubscriberInput.looksLikeToken(token),
                let subscriber = try await store.subscriber(unsubscribeToken: token)
            else { return pages.unknownLink() }
            return pages.page("preferences", try await preferencesValues(subscriber, token: token, saved: false))
        }
        router.post("/preferences/:token") { request, context in
            do {
                let client = try admit(request, context)
                let fields = try await formFields(request)
                let token = try context.parameters.require("token")
                guard SubscriberInput.looksLikeToken(token) else { return pages.unknownLink() }
                var choice = try SubscriberInput.preferences(fields)
                // The topics offered, and whatever the subscriber has chosen before (an alias since
                // removed), so that saving the form as shown never fails.
                var catalog = try await store.topicCatalog(aliases: pages.settings.topics)
                if let subscriber = try await store.subscriber(unsubscribeToken: token) {
                    let chosen = try await store.topicChoice(subscriberID: subscriber.id).resolved(
                        pages.settings.topics)
                    catalog.topics = Array(Set(catalog.topics + chosen.topics)).sorted()
                }
                choice.topics = try SubscriberInput.topicChoice(fields, catalog: catalog, aliases: pages.settings.topics)
                let preferences = choice
                guard
                    let subscriber = try await store.updatePreferences(
                        token: token, preferences, client: client, at: time.now())
                else { return pages.unknownLink() }
                metrics.count(.preferencesSaved)
                return pages.page("preferences", try await preferencesValues(subscriber, token: token, saved: true))
            } catch let error as BadRequest {
                return pages.failure(error, json: false)
            }
        }
    }

    // MARK: - Steps shared by the posts

    /// The client, if its rate allows another post.
    func admit(_ request: Request, _ context: some RequestContext) throws(BadRequest) -> ClientInfo {
        let client = SubscriberInput.client(request, context, trustForwardedFor: server.trustForwardedFor)
        if let wait = postLimiter.check(client.address ?? "unknown") {
            metrics.count(.rateLimited)
            throw BadRequest(status: 429, "too many requests from your address; try again in \(wait) seconds")
        }
        return client
    }

    private func body(_ request: Request) async throws -> [UInt8] {
        do {
            return Array(buffer: try await request.body.collect(upTo: server.maxBodyBytes))
        } catch is NIOTooManyBytesError {
            throw BadRequest(status: 413, "the request body is larger than \(server.maxBodyBytes) bytes")
        }
    }

    func formFields(_ request: Request) async throws -> FormFields {
        try FormFields.parse(try await body(request), contentType: request.headers[.contentType])
    }

    private func checkInbox(json: Bool) -> Response {
        if json {
            return pages.json(
                status: .accepted,
                [
                    "status": "check-your-inbox",
                    "message": "If the address can subscribe, a confirmation link is on its way.",
                ])
        }
        return checkInboxPage
    }

    private func preferencesValues(_ subscriber: Subscriber, token: String, saved: Bool) async throws -> [String: Any] {
        let catalog = try await store.topicCatalog(aliases: pages.settings.topics)
        let chosen = try await store.topicChoice(subscriberID: subscriber.id).resolved(pages.settings.topics)
        var values: [String: Any] = [
            "title": "Preferences", "email": subscriber.email, "action": "/preferences/\(token)",
            "html": subscriber.format == .html, "text": subscriber.format == .text, "paused": subscriber.paused,
            "saved": saved, "unsubscribed": subscriber.status == .unsubscribed || subscriber.status == .bounced,
            "unsubscribeURL": "/unsubscribe/\(token)",
        ]
        if let name = subscriber.name { values["name"] = name }
        for (key, value) in Self.topicValues(catalog, chosen: chosen) { values[key] = value }
        for (key, value) in try await readerDataValues(token: token) { values[key] = value }
        return values
    }

    /// The topic checkboxes: every topic of the store, ticked where chosen. A stored topic that
    /// pages no longer give is still shown, ticked, so saving the form does not drop it unseen.
    static func topicValues(_ catalog: TopicCatalog, chosen: TopicChoice) -> [String: Any] {
        let names = Array(Set(catalog.topics + chosen.topics)).sorted()
        return [
            "hasTopics": !names.isEmpty,
            "topics": names.enumerated().map { index, name -> [String: Any] in
                ["name": name, "id": "topic-\(index + 1)", "checked": chosen.topics.contains(name)]
            },
        ]
    }
}

/// The request context `serve` uses: Hummingbird's basics plus the client's address.
public struct EndpointRequestContext: RequestContext, RemoteAddressRequestContext, EditorRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?
    /// The editor the editor pages' access check let in (nil elsewhere).
    public var editor: EditorPrincipal?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}
