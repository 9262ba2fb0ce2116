import Foundation
import HTTPTypes
import Hummingbird

/// `POST /webhooks/ses`, `/webhooks/sendgrid`, `/webhooks/postmark`, `/webhooks/mailgun`, one
/// for each provider configured. Every request goes through the same steps: the body at most
/// `maxBodyBytes` (413), the provider's own check (a 4xx naming what failed), a signed time
/// within five minutes of now (401), event ids not seen before (409 when every one was), then
/// each event through the same processor as the mailbox's bounces. Answers 200 with what was
/// recorded, what was ignored and why (an event about an address never sent to is one), and
/// which events were replays.
public struct ProviderWebhookRoutes<Store: BounceStore & ProviderEventLedger>: Sendable {
    public var processor: BounceProcessor<Store>
    public var providers: [any ProviderWebhook]
    public var metrics: EndpointMetrics

    public init(processor: BounceProcessor<Store>, providers: [any ProviderWebhook], metrics: EndpointMetrics) {
        self.processor = processor
        self.providers = providers
        self.metrics = metrics
    }

    /// SendGrid's batches stay well under this; 10 MB is refused.
    public static var maxBodyBytes: Int { 4 << 20 }
    /// How far the signed time may be from now, either way.
    public static var maxAge: TimeInterval { 300 }
    /// How long an event id is kept: long past `maxAge`, after which a replay is refused as stale.
    static var keepIDs: TimeInterval { 3600 }

    struct Answer: Encodable {
        struct Ignored: Encodable {
            var id: String
            var reason: String
        }
        var recorded = 0
        var duplicates = 0
        var ignored: [Ignored] = []
        var replayed: [String] = []
        var subscriptionConfirmed = false
    }

    public func register(on router: Router<some RequestContext>) {
        for provider in providers {
            router.post(RouterPath("/webhooks/\(provider.name)")) { request, _ -> Response in
                try await self.handle(request, provider: provider)
            }
        }
    }

    func handle(_ request: Request, provider: any ProviderWebhook) async throws -> Response {
        let body: [UInt8]
        do {
            body = Array(buffer: try await request.body.collect(upTo: Self.maxBodyBytes))
        } catch {
            return refuse(
                ProviderRefusal(status: .contentTooLarge, "the request body is larger than \(ByteCount(Self.maxBodyBytes))"))
        }
        let verified: VerifiedEvents
        do {
            verified = try await provider.verify(headers: request.headers, body: body, verp: processor.parser.verp)
        } catch {
            return refuse(error)
        }
        let now = processor.time.now()
        let age = now.timeIntervalSince(verified.signedAt)
        guard abs(age) <= Self.maxAge else {
            return refuse(
                .unauthenticated(
                    "signed \(Int(abs(age))) s \(age > 0 ? "ago" : "ahead"): more than five minutes from now is refused (a replay, or a clock that is off)"
                ))
        }
        let ids = verified.events.map(\.id)
        let fresh = try await processor.store.claimProviderEvents(
            ids, provider: provider.name, at: now, forgetBefore: now.addingTimeInterval(-Self.keepIDs))
        if !ids.isEmpty, fresh.isEmpty {
            return refuse(
                ProviderRefusal(
                    status: .conflict, "every event in the request was received before (a replay): \(ids.prefix(5))"))
        }
        var answer = Answer()
        var taken: Set<String> = []
        do {
            for event in verified.events {
                guard fresh.contains(event.id), taken.insert(event.id).inserted else {
                    answer.replayed.append(event.id)
                    continue
                }
                try await perform(event, provider: provider, into: &answer)
            }
        } catch {
            // Nothing of a failed request is kept as seen, so the provider's retry is taken;
            // what was recorded already is recognised by its bounce key.
            try await processor.store.releaseProviderEvents(Array(fresh), provider: provider.name)
            if let refusal = error as? ProviderRefusal { return refuse(refusal) }
            throw error
        }
        return Self.json(status: .ok, answer)
    }

    private func perform(_ event: ProviderEvent, provider: any ProviderWebhook, into answer: inout Answer) async throws
    {
        switch event.action {
        case .record(let parsed):
            switch try await processor.record(parsed, source: .webhook) {
            case .recorded:
                answer.recorded += 1
                metrics.count(.providerEventRecorded)
            case .duplicate: answer.duplicates += 1
            case .refused(let reason):
                answer.ignored.append(.init(id: event.id, reason: reason))
                metrics.count(.providerEventIgnored)
            }
        case .ignore(let reason):
            answer.ignored.append(.init(id: event.id, reason: reason))
            metrics.count(.providerEventIgnored)
        case .confirmSubscription(let url):
            try await provider.confirmSubscription(url: url)
            answer.subscriptionConfirmed = true
        }
    }

    private func refuse(_ refusal: ProviderRefusal) -> Response {
        metrics.count(.providerRequestRefused)
        return Self.json(status: refusal.status, ["error": refusal.reason])
    }

    static func json(status: HTTPResponse.Status, _ value: some Encodable) -> Response {
        jsonResponse(status: status, value)
    }
}

/// A JSON answer, as both webhooks give them.
func jsonResponse(status: HTTPResponse.Status, _ value: some Encodable) -> Response {
    var headers = HTTPFields()
    headers[.contentType] = "application/json"
    let data = (try? JSONEncoder().encode(value)) ?? Data()
    return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
}
