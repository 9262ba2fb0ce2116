import Foundation
import NewsletterAPI
import OpenAPIRuntime

/// Creating, changing, forgetting and importing subscribers: each through the workflow the
/// signup form, the preferences page and `newsletter subscribers import` use, so their rules
/// (the throttle, the consent trail, an import never undoing an unsubscribe) apply once.
extension APIHandler {
    /// The consent trail's client for a change made through the API.
    var client: ClientInfo { ClientInfo(address: nil, userAgent: "api-key:\(APIRequest.key?.name ?? "?")") }
    var actor: String { "api-key:\(APIRequest.key?.name ?? "?")" }

    func createSubscriber(_ input: Operations.CreateSubscriber.Input) async throws -> Operations.CreateSubscriber.Output {
        guard case .json(let body) = input.body else { throw APIProblem(.unsupportedMediaType, "send JSON") }
        let address = try Self.field("email") { try SubscriberInput.emailAddress(body.email) }
        let name = try Self.field("name") { try SubscriberInput.displayName(body.name) }
        let topics = try await topicChoice(body.topics)
        let now = time.now()
        if let consent = body.consent {
            guard APIRequest.key?.scope == .admin else {
                throw APIProblem(
                    .forbidden, "only an admin key may add a subscriber as confirmed with the consent it names",
                    field: "consent")
            }
            let source = try Self.consentRecord(consent)
            let added = try await store.importSubscriber(
                email: address.address, name: name, topics: topics, source: source, at: now)
            let subscriber = try await stored(email: address.address)
            if added {
                try await audit.record(actor: actor, action: .subscriberChange, subject: address.address, detail: "added with consent: \(source)")
                return .created(.init(body: .json(try await schema(subscriber))))
            }
            return .ok(.init(body: .json(try await schema(subscriber))))
        }
        // An erased reader is refused here (409); only the signup form may bring them back.
        let outcome = try await store.requestSignupUnlessSuppressed(
            address, name: name, topics: topics, client: client, policy: policy, at: now)
        let subscriber = try await stored(email: address.address)
        switch outcome {
        case .confirmationQueued:
            wakeup?.signal()
            try await audit.record(actor: actor, action: .subscriberChange, subject: address.address, detail: "signed up: confirmation mail queued")
            return .created(.init(body: .json(try await schema(subscriber))))
        case .throttled, .alreadyConfirmed:
            return .ok(.init(body: .json(try await schema(subscriber))))
        }
    }

    func updateSubscriber(_ input: Operations.UpdateSubscriber.Input) async throws -> Operations.UpdateSubscriber.Output {
        guard case .json(let body) = input.body else { throw APIProblem(.unsupportedMediaType, "send JSON") }
        guard let subscriber = try await store.subscriber(id: input.path.id) else {
            throw APIProblem.notFound("no subscriber has id \(input.path.id)")
        }
        let now = time.now()
        if let topics = try await topicChoice(body.topics) {
            try await store.setTopicChoice(topics, subscriberID: subscriber.id, client: client, at: now)
            try await audit.record(actor: actor, action: .subscriberChange, subject: subscriber.email, detail: "topics: \(topics)")
        }
        if body.status == .unsubscribed, try await store.unsubscribe(subscriberID: subscriber.id, client: client, at: now) != nil {
            try await audit.record(actor: actor, action: .subscriberChange, subject: subscriber.email, detail: "unsubscribed")
        }
        return .ok(.init(body: .json(try await schema(try await stored(id: subscriber.id)))))
    }

    func deleteSubscriber(_ input: Operations.DeleteSubscriber.Input) async throws -> Operations.DeleteSubscriber.Output {
        guard let subscriber = try await store.subscriber(id: input.path.id),
            try await store.removeSubscriber(email: subscriber.email)
        else { throw APIProblem.notFound("no subscriber has id \(input.path.id)") }
        try await audit.record(actor: actor, action: .subscriberChange, subject: subscriber.email, detail: "forgotten")
        return .noContent(.init())
    }

    func importSubscribers(_ input: Operations.ImportSubscribers.Input) async throws -> Operations.ImportSubscribers.Output {
        // An import adds people as confirmed on the caller's word, as a signup with its consent named does.
        guard APIRequest.key?.scope == .admin else {
            throw APIProblem(.forbidden, "only an admin key may import: imported subscribers are confirmed without a confirmation mail")
        }
        let parsed: [SubscriberCSV.Row]
        let parseErrors: [SubscriberCSV.RowError]
        let source: String
        switch input.body {
        case .json(let request):
            source = try Self.checked(request.source, "source", max: 500)
            (parsed, parseErrors) = SubscriberImport.rows(
                request.subscribers.map { (email: $0.email, name: $0.name, topics: $0.topics) })
        case .csv(let body):
            guard let given = input.query.source else {
                throw APIProblem.badRequest("a CSV import names where its consent comes from in ?source=", field: "source")
            }
            source = try Self.checked(given, "source", max: 500)
            let bytes = try await [UInt8](collecting: body, upTo: .max)
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw APIProblem.badRequest("the CSV is not UTF-8 text", field: "body")
            }
            (parsed, parseErrors) = SubscriberCSV.parse(text)
        }
        let summary = try await SubscriberImport.run(
            parsed, parseErrors: parseErrors, store: store, aliases: aliases,
            source: { "\(actor) \(source) #\($0.line)" }, at: time.now())
        try await audit.record(
            actor: actor, action: .subscriberChange, subject: "import",
            detail: "\(source): \(summary.added) added, \(summary.known) known, \(summary.refused.count) refused")
        return .ok(
            .init(
                body: .json(
                    .init(
                        added: summary.added, known: summary.known,
                        refused: summary.refused.map { .init(row: $0.line, message: $0.message) }))))
    }

    // MARK: - Helpers

    /// A topic list checked against the store's topics (nil: not given, so left as it is).
    func topicChoice(_ names: [String]?) async throws -> TopicChoice? {
        guard let names else { return nil }
        guard names.count <= 50 else { throw APIProblem.badRequest("at most 50 topics", field: "topics") }
        do {
            return try await store.topicCatalog(aliases: aliases).choice(names, aliases: aliases)
        } catch let error as UnknownTopic {
            throw APIProblem.badRequest("\(error)", field: "topics")
        }
    }

    func stored(email: String) async throws -> Subscriber {
        guard let subscriber = try await store.subscriber(email: email) else {
            throw APIProblem(.conflict, "\(email) was removed meanwhile")
        }
        return subscriber
    }

    func stored(id: Int64) async throws -> Subscriber {
        guard let subscriber = try await store.subscriber(id: id) else {
            throw APIProblem(.conflict, "subscriber \(id) was removed meanwhile")
        }
        return subscriber
    }

    func schema(_ subscriber: Subscriber) async throws -> APISchemas.Subscriber {
        Self.schema(subscriber, topics: try await store.topicChoices(subscriberIDs: [subscriber.id])[subscriber.id])
    }

    /// The consent as the trail records it, beside the CSV import's `file:line`.
    static func consentRecord(_ consent: APISchemas.Consent) throws -> String {
        let source = try checked(consent.source, "consent.source", max: 500)
        let proof = try checked(consent.proof, "consent.proof", max: 2000)
        return "\(source); agreed \(consent.time.formatted(.iso8601)); proof: \(proof)"
    }

    /// A required text: not blank, not too long, no control characters (it goes into the trail).
    static func checked(_ value: String, _ field: String, max: Int) throws -> String {
        let text = value.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { throw APIProblem.badRequest("\(field) is empty", field: field) }
        guard text.count <= max else {
            throw APIProblem.badRequest("\(field) is \(text.count) characters long, more than \(max)", field: field)
        }
        guard !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw APIProblem.badRequest("\(field) contains control characters", field: field)
        }
        return text
    }

    /// The signup form's checks, their refusals as 400s naming `name`.
    static func field<T>(_ name: String, _ check: () throws -> T) throws -> T {
        do {
            return try check()
        } catch let error as BadRequest {
            throw APIProblem.badRequest(error.message, field: name)
        }
    }
}
