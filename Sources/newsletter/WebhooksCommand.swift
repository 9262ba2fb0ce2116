import ArgumentParser
import Foundation
import NewsletterCore

struct Webhooks: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Signed outbound webhooks (Standard Webhooks): endpoints, their log, a test send.",
        discussion: """
            `serve` delivers the events (\(WebhookEventType.subscribable.map(\.rawValue).joined(separator: ", "))) \
            with retries over about two days; an endpoint failing throughout a day is disabled.
            """,
        subcommands: [Add.self, List.self, Remove.self, Enable.self, Log.self, Test.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add an endpoint; prints its whsec_ signing secret, once.",
            discussion: """
                The URL must be http(s), and its host must not resolve to a loopback, link-local or \
                private address unless [webhooks] allow_private_targets or allowed_networks say so. \
                Exit status: 0 added; 64 a bad URL or event name; 74 the store failed.
                """)

        @OptionGroup var global: GlobalOptions
        @Argument(help: "The endpoint's URL.") var url: String
        @Option(help: ArgumentHelp("Events, comma-separated, or \"all\".", valueName: "events"))
        var events = "all"

        func run() async throws {
            let context = try global.components()
            let types: [WebhookEventType]
            do { types = try WebhookEventType.parseList(events) } catch { throw CommandError(.usage, "--events: \(error)") }
            func add(to store: some WebhookStore & AuditLogStore) async throws -> (WebhookEndpoint, WebhookSecret) {
                try await WebhookManagement(store: store, settings: context.configuration.webhooks).add(
                    url: url, events: types)
            }
            try await context.withStore { store in
                do {
                    let (endpoint, secret) = try await add(to: store)
                    print("endpoint \(endpoint.id): \(endpoint.url)")
                    print("events: \(endpoint.events.map(\.rawValue).joined(separator: ", "))")
                    print("secret (shown once; the receiver verifies signatures with it): \(secret.text)")
                } catch let refusal as WebhookTargetRefusal {
                    throw CommandError(.usage, "\(url): \(refusal)")
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The endpoints, their events and their health.")

        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let context = try global.components()
            try await context.withStore { store in
                let endpoints = try await store.webhookEndpoints()
                let pending = try await store.pendingWebhookDeliveries()
                if endpoints.isEmpty { print("no webhook endpoints (add one with `newsletter webhooks add URL`)") }
                for endpoint in endpoints {
                    print(WebhookText.line(endpoint, pending: pending[endpoint.id] ?? 0))
                }
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove an endpoint, with its pending deliveries and its log.")

        @OptionGroup var global: GlobalOptions
        @Argument(help: "The endpoint's id (`webhooks list`).") var id: Int64

        func run() async throws {
            try await Webhooks.change(id, global: global, done: "removed") { try await $0.remove(id: $1) }
        }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Enable a disabled endpoint; its pending deliveries are tried at once.")

        @OptionGroup var global: GlobalOptions
        @Argument(help: "The endpoint's id (`webhooks list`).") var id: Int64

        func run() async throws {
            try await Webhooks.change(id, global: global, done: "enabled") { try await $0.enable(id: $1) }
        }
    }

    struct Log: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The latest delivery attempts: time, endpoint, event, status, duration, error.")

        @OptionGroup var global: GlobalOptions
        @Option(help: "Only this endpoint's attempts.") var endpoint: Int64?
        @Option(help: "How many of the latest attempts.") var limit = 50

        func run() async throws {
            let context = try global.components()
            try await context.withStore { store in
                let attempts = try await store.webhookAttempts(endpointID: endpoint, limit: max(1, limit))
                if attempts.isEmpty { print("no attempts yet") }
                for attempt in attempts { print(WebhookText.line(attempt)) }
            }
        }
    }

    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send a signed webhook.test event to an endpoint now, and say how it went.",
            discussion: "Exit status: 0 answered 2xx; 1 any other answer or none; 64 no such endpoint.")

        @OptionGroup var global: GlobalOptions
        @Argument(help: "The endpoint's id (`webhooks list`).") var id: Int64

        func run() async throws {
            let context = try global.components()
            func test(_ store: some WebhookStore & AuditLogStore) async throws -> WebhookAttempt? {
                try await WebhookManagement(store: store, settings: context.configuration.webhooks).test(endpointID: id)
            }
            try await context.withStore { store in
                guard let attempt = try await test(store) else {
                    throw CommandError(.usage, "there is no webhook endpoint \(id) (`newsletter webhooks list`)")
                }
                print(WebhookText.line(attempt))
                if !attempt.succeeded { throw CommandError(.partialFailure, "the test event was not accepted") }
            }
        }
    }

    /// One change to endpoint `id` through `WebhookManagement`; an unknown id is a usage error.
    static func change(
        _ id: Int64, global: GlobalOptions, done: String,
        _ body: @escaping (WebhookManagement, Int64) async throws -> Bool
    ) async throws {
        let context = try global.components()
        try await context.withStore { store in
            guard try await body(WebhookManagement(store: store, settings: context.configuration.webhooks), id) else {
                throw CommandError(.usage, "there is no webhook endpoint \(id) (`newsletter webhooks list`)")
            }
            print("\(done) endpoint \(id)")
        }
    }
}
