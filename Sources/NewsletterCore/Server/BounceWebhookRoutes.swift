import Crypto
import Foundation
import HTTPTypes
import Hummingbird

/// `POST /webhooks/bounces` for a relay that reports bounces and complaints by webhook instead
/// of mail; `Authorization: Bearer <bounces.webhook_token>` (its own token, not the editor's).
/// Without a token configured the route does not exist. The body (at most 1 MiB):
///
/// ```json
/// {"events": [{"id": "evt-1", "type": "bounce", "recipient": "ada@example.org",
///              "status": "5.1.1", "action": "failed", "diagnostic": "550 5.1.1 user unknown",
///              "message_id": "<…>", "envelope_sender": "bounces+…@example.org"}]}
/// ```
///
/// `type` is `bounce`, `complaint`, `auto_reply` or `delivered`; `id` is the relay's event id
/// (an event sent twice counts once); the rest is optional, but one of `envelope_sender`,
/// `message_id` and `recipient` must name a copy we sent. Each event goes through the same
/// rule as a bounce from the mailbox. Answers 200 with what was recorded, duplicated or refused
/// (and why, per event); 400 naming the field for a body that is not this shape; 401 without
/// the token.
public struct BounceWebhookRoutes<Store: BounceStore>: Sendable {
    public var processor: BounceProcessor<Store>
    public var token: String?

    public init(processor: BounceProcessor<Store>, token: String?) {
        self.processor = processor
        self.token = token
    }

    public static var maxBodyBytes: Int { 1 << 20 }

    struct Event: Decodable {
        var id: String
        var type: String
        var recipient: String?
        var status: String?
        var action: String?
        var diagnostic: String?
        var messageID: String?
        var envelopeSender: String?

        enum CodingKeys: String, CodingKey {
            case id, type, recipient, status, action, diagnostic
            case messageID = "message_id"
            case envelopeSender = "envelope_sender"
        }
    }

    struct Payload: Decodable { var events: [Event] }

    struct Answer: Encodable {
        struct Refusal: Encodable {
            var id: String
            var reason: String
        }
        var recorded = 0
        var duplicates = 0
        var refused: [Refusal] = []
    }

    public func register(on router: Router<some RequestContext>) {
        guard let token, !token.isEmpty else { return }
        router.post("/webhooks/bounces") { request, _ -> Response in
            guard Self.bearer(request.headers[.authorization], matches: token) else {
                return Self.json(
                    status: .unauthorized, ["error": "the bounce webhook needs its token (Authorization: Bearer …)"])
            }
            let body: [UInt8]
            do {
                body = Array(buffer: try await request.body.collect(upTo: Self.maxBodyBytes))
            } catch {
                return Self.json(
                    status: .contentTooLarge, ["error": "the request body is larger than \(Self.maxBodyBytes) bytes"])
            }
            let events: [Event]
            do {
                events = try JSONDecoder().decode(Payload.self, from: Data(body)).events
            } catch let error as DecodingError {
                return Self.json(
                    status: .badRequest, ["error": "not the documented JSON shape: \(Self.describe(error))"])
            }
            let processor = self.processor
            var answer = Answer()
            for event in events {
                guard let parsed = Self.parsed(event, verp: processor.parser.verp) else {
                    answer.refused.append(
                        .init(
                            id: event.id,
                            reason: "type \"\(event.type)\" is not bounce, complaint, auto_reply or delivered"))
                    continue
                }
                switch try await processor.record(parsed, source: .webhook) {
                case .recorded: answer.recorded += 1
                case .duplicate: answer.duplicates += 1
                case .refused(let reason): answer.refused.append(.init(id: event.id, reason: reason))
                }
            }
            return Self.json(status: .ok, answer)
        }
    }

    static func parsed(_ event: Event, verp: VERPAddress?) -> ParsedBounce? {
        let outcome: ReportedOutcome
        switch event.type {
        case "bounce": outcome = .failed
        case "delivered": outcome = .delivered
        case "complaint": outcome = .complaint
        case "auto_reply": outcome = .autoReply
        default: return nil
        }
        return .reported(
            outcome, key: "webhook:\(event.id)", recipient: event.recipient,
            evidence: BounceEvidence(status: event.status, action: event.action, diagnostic: event.diagnostic),
            envelopeSender: event.envelopeSender, messageID: event.messageID, verp: verp)
    }

    static func bearer(_ header: String?, matches token: String) -> Bool {
        guard let header, header.lowercased().hasPrefix("bearer ") else { return false }
        let presented = header.dropFirst(7).trimmingCharacters(in: .whitespaces)
        guard !presented.isEmpty else { return false }
        return Array(SHA256.hash(data: Data(presented.utf8))) == Array(SHA256.hash(data: Data(token.utf8)))
    }

    static func json(status: HTTPResponse.Status, _ object: some Encodable) -> Response {
        jsonResponse(status: status, object)
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
        }
        switch error {
        case .keyNotFound(let key, let context): return "\(path(context)).\(key.stringValue) is missing"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "\(path(context)): \(context.debugDescription)"
        case .dataCorrupted(let context):
            return "\(path(context).isEmpty ? "the body" : path(context)): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}
