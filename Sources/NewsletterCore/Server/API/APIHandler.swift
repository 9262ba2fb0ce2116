import Foundation
import NewsletterAPI

/// The generated document's schemas: NewsletterCore has a `Components` of its own.
typealias APISchemas = NewsletterAPI.Components.Schemas

/// The `/api/v1` operations, each a call into the workflows the CLI and the pages use (the
/// generated server has read and checked the request against the document first; `APIGate`
/// has checked the key).
struct APIHandler<Store: NewsletterStore>: APIProtocol {
    let store: Store
    let aliases: TopicAliases
    /// The signup form's throttle, for subscribers created without their consent named.
    let policy: SignupPolicy
    /// Wakes the endpoint mail queue when a confirmation mail is queued.
    let wakeup: Wakeup?
    let time: any TimeSource
    let audit: AuditLog
    /// The target policy and transfer limits endpoints are added and tested under.
    let webhooks: WebhookSettings

    /// Subscribers per page when the request does not say.
    static var defaultPageSize: Int { 100 }
    /// A filtered list reads at most this many subscribers for one page, then hands back a
    /// cursor (the page may be short): a rare topic cannot make one request read the whole list.
    static var maxScannedPerPage: Int { 10_000 }

    func listSubscribers(_ input: Operations.ListSubscribers.Input) async throws -> Operations.ListSubscribers.Output {
        let limit = input.query.limit ?? Self.defaultPageSize
        guard (1...1000).contains(limit) else {
            throw APIProblem.badRequest("limit must be 1 to 1000, not \(limit)", field: "limit")
        }
        var after = try APICursor.afterID(input.query.cursor)
        let status = input.query.status.map { Subscriber.Status(rawValue: $0.rawValue)! }
        let topic = input.query.topic.map(aliases.resolve)
        var items: [APISchemas.Subscriber] = []
        var scanned = 0
        var exhausted = false
        while items.count < limit && scanned < Self.maxScannedPerPage {
            // Unfiltered, a page is one read; filtered, read ahead in batches and stop at the
            // last subscriber examined, which the cursor names.
            let wanted = topic == nil ? limit - items.count : max(limit - items.count, 100)
            let batch = try await store.subscribers(status: status, afterID: after, limit: wanted)
            let choices = try await store.topicChoices(subscriberIDs: batch.map(\.id))
            var examined = 0
            for subscriber in batch where items.count < limit {
                examined += 1
                after = subscriber.id
                let choice = choices[subscriber.id]
                if let topic, let choice, !choice.resolved(aliases).topics.contains(topic) { continue }
                items.append(Self.schema(subscriber, topics: choice))
            }
            scanned += examined
            if batch.count < wanted && examined == batch.count {
                exhausted = true
                break
            }
        }
        // A full page may be the last one: the next request finds it empty and says so.
        return .ok(.init(body: .json(.init(items: items, nextCursor: exhausted ? nil : APICursor.cursor(after: after)))))
    }

    func getSubscriber(_ input: Operations.GetSubscriber.Input) async throws -> Operations.GetSubscriber.Output {
        guard let subscriber = try await store.subscriber(id: input.path.id) else {
            throw APIProblem.notFound("no subscriber has id \(input.path.id)")
        }
        let choice = try await store.topicChoices(subscriberIDs: [subscriber.id])[subscriber.id]
        return .ok(.init(body: .json(Self.schema(subscriber, topics: choice))))
    }

    func listTopics(_ input: Operations.ListTopics.Input) async throws -> Operations.ListTopics.Output {
        let counts = try await store.topicCounts(aliases: aliases)
        return .ok(.init(body: .json(.init(items: counts.map { .init(name: $0.topic, comparisons: $0.comparisons) }))))
    }

    static func schema(_ subscriber: Subscriber, topics: TopicChoice?) -> APISchemas.Subscriber {
        APISchemas.Subscriber(
            id: subscriber.id, email: subscriber.email, name: subscriber.name,
            status: APISchemas.SubscriberStatus(rawValue: subscriber.status.rawValue)!,
            format: .init(rawValue: subscriber.format.rawValue)!, paused: subscriber.paused,
            createdAt: subscriber.createdAt, confirmedAt: subscriber.confirmedAt,
            topics: topics.flatMap { $0.isEverything ? nil : $0.topics })
    }
}

/// The lists' cursors: opaque to clients, the last id of the page handed out.
enum APICursor {
    static func cursor(after id: Int64) -> String { "i\(id)" }

    static func afterID(_ cursor: String?) throws -> Int64 {
        guard let cursor else { return 0 }
        guard cursor.first == "i", let id = Int64(cursor.dropFirst()), id >= 0 else {
            throw APIProblem.badRequest("the cursor is not one this server handed out (next_cursor)", field: "cursor")
        }
        return id
    }
}
