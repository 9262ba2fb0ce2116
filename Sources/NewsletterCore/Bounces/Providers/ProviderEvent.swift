import Foundation
import HTTPTypes

/// One event a sending provider reported, once its request was verified.
public struct ProviderEvent: Sendable, Equatable {
    public enum Action: Sendable, Equatable {
        /// A bounce, complaint or delivery about one of our copies: recorded by the one rule.
        case record(ParsedBounce)
        /// An event that says nothing about an address (opened, clicked, accepted): counted.
        case ignore(reason: String)
        /// SNS's SubscriptionConfirmation: GET this URL (already checked against the allowed hosts).
        case confirmSubscription(url: String)
    }

    /// The id the provider signed (SendGrid's `sg_event_id`, Mailgun's signature token, SNS's
    /// `MessageId`, Postmark's record type and ID): an id received before is refused.
    public var id: String
    public var action: Action

    public init(id: String, action: Action) {
        self.id = id
        self.action = action
    }
}

/// What a provider's request says, once its signature or credentials are checked.
public struct VerifiedEvents: Sendable, Equatable {
    /// The time the provider signed or stated: more than five minutes from now is refused.
    public var signedAt: Date
    public var events: [ProviderEvent]

    public init(signedAt: Date, events: [ProviderEvent]) {
        self.signedAt = signedAt
        self.events = events
    }
}

/// Why a provider's request was refused, answered as a 4xx that names the problem.
public struct ProviderRefusal: Error, Equatable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var reason: String

    public init(status: HTTPResponse.Status, _ reason: String) {
        self.status = status
        self.reason = reason
    }

    /// The body is not the provider's documented shape.
    public static func malformed(_ reason: String) -> Self { Self(status: .badRequest, reason) }
    /// The signature or credentials do not hold: forged, or signed with another key.
    public static func unauthenticated(_ reason: String) -> Self { Self(status: .unauthorized, reason) }
    /// Signed by the provider, but not for us (another SNS topic, a certificate URL on a host we do not trust).
    public static func forbidden(_ reason: String) -> Self { Self(status: .forbidden, reason) }

    public var description: String { "\(status.code) \(reason)" }
}

/// A provider's webhook: how its requests are verified and its events read. One implementation
/// per provider; the route, the freshness and replay checks and the recording are shared
/// (`ProviderWebhookRoutes`).
public protocol ProviderWebhook: Sendable {
    /// `mailgun`: the route is `/webhooks/<name>`, and the replay ledger's provider.
    var name: String { get }
    /// Checks the request as the provider documents it and maps its events; throws a refusal
    /// naming what is wrong. Nothing is stored here.
    func verify(headers: HTTPFields, body: [UInt8], verp: VERPAddress?) async throws(ProviderRefusal)
        -> VerifiedEvents
    /// Carries out a SubscriptionConfirmation (SNS only); the others never ask.
    func confirmSubscription(url: String) async throws(ProviderRefusal)
}

extension ProviderWebhook {
    public func confirmSubscription(url: String) async throws(ProviderRefusal) {
        throw .malformed("\(name) has no subscriptions to confirm")
    }
}

/// What a relay or a provider says happened to one copy, before the rule classifies it.
public enum ReportedOutcome: Sendable, Equatable {
    /// Refused or returned: the evidence's status and text say how (hard, soft, policy).
    case failed
    /// Not delivered yet, still being tried: a soft bounce.
    case delayed
    case delivered
    /// The recipient marked it as spam.
    case complaint
    case autoReply
}

extension ParsedBounce {
    /// A report about one recipient from a relay's or a provider's webhook, found as a DSN is:
    /// by our VERP address in the envelope sender, then the original's Message-ID, then the
    /// recipient.
    public static func reported(
        _ outcome: ReportedOutcome, key: String, recipient: String?, evidence: BounceEvidence = BounceEvidence(),
        envelopeSender: String? = nil, messageID: String? = nil, verp: VERPAddress?
    ) -> ParsedBounce {
        var evidence = evidence
        let shape: Shape
        switch outcome {
        case .failed: shape = .deliveryStatus
        case .delayed:
            shape = .deliveryStatus
            evidence.action = "delayed"
        case .delivered:
            shape = .deliveryStatus
            if evidence.action == nil { evidence.action = "delivered" }
        case .complaint:
            shape = .feedbackReport
            evidence.isComplaint = true
        case .autoReply:
            shape = .autoReply
            evidence.isAutoReply = true
        }
        let messageID = messageID.map(BounceParser.bareMessageID).flatMap { $0.isEmpty ? nil : $0 }
        return ParsedBounce(
            key: key, shape: shape,
            recipients: [.init(address: recipient.flatMap { Addresses.find(in: $0).first }, evidence: evidence)],
            verpTokens: envelopeSender.flatMap { sender in verp?.tokens(in: sender) } ?? [],
            originalMessageID: messageID)
    }
}

/// Reading the providers' JSON without a `Decodable` per payload: their shapes carry many
/// fields we do not use and change them often.
struct JSONObject: Sendable {
    let values: [String: any Sendable]
    /// Where this object is in the body, for messages (`event-data.delivery-status`).
    let path: String

    init(_ values: [String: any Sendable], path: String) {
        self.values = values
        self.path = path
    }

    /// The body as one JSON object.
    static func parse(_ body: [UInt8], what: String) throws(ProviderRefusal) -> JSONObject {
        guard let object = try? parseAny(body) as? [String: Any] else {
            throw .malformed("the body is not a JSON object (\(what))")
        }
        return JSONObject(sendable(object), path: "")
    }

    /// The body as a JSON array of objects (SendGrid's batches).
    static func parseArray(_ body: [UInt8], what: String) throws(ProviderRefusal) -> [JSONObject] {
        guard let array = try? parseAny(body) as? [Any] else {
            throw .malformed("the body is not a JSON array (\(what))")
        }
        var objects: [JSONObject] = []
        for (index, element) in array.enumerated() {
            guard let object = element as? [String: Any] else {
                throw .malformed("[\(index)] is not a JSON object")
            }
            objects.append(JSONObject(sendable(object), path: "[\(index)]"))
        }
        return objects
    }

    private static func parseAny(_ body: [UInt8]) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(body), options: [])
    }

    private static func sendable(_ object: [String: Any]) -> [String: any Sendable] {
        object.mapValues(sendable(value:))
    }

    private static func sendable(value: Any) -> any Sendable {
        if let nested = value as? [String: Any] { return sendable(nested) }
        if let array = value as? [Any] { return array.map(sendable(value:)) }
        if let string = value as? String { return string }
        if let number = value as? NSNumber { return number.doubleValue }
        return "\(value)"
    }

    private func name(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func string(_ key: String) -> String? {
        switch values[key] {
        case let string as String: string
        case let number as Double:
            number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(number)
        default: nil
        }
    }

    func requiredString(_ key: String) throws(ProviderRefusal) -> String {
        guard let value = string(key), !value.isEmpty else { throw .malformed("\(name(key)) is missing") }
        return value
    }

    func number(_ key: String) -> Double? {
        switch values[key] {
        case let number as Double: number
        case let string as String: Double(string)
        default: nil
        }
    }

    func object(_ key: String) -> JSONObject? {
        (values[key] as? [String: any Sendable]).map { JSONObject($0, path: name(key)) }
    }

    func requiredObject(_ key: String) throws(ProviderRefusal) -> JSONObject {
        guard let object = object(key) else { throw .malformed("\(name(key)) is missing or not an object") }
        return object
    }

    func objects(_ key: String) -> [JSONObject] {
        guard let array = values[key] as? [any Sendable] else { return [] }
        return array.enumerated().compactMap { index, element in
            (element as? [String: any Sendable]).map { JSONObject($0, path: "\(name(key))[\(index)]") }
        }
    }
}

/// The timestamps the providers send.
enum ProviderTime {
    /// ISO 8601 with or without fractional seconds (SNS: `2012-05-02T00:54:06.655Z`; Postmark
    /// gives seven digits and an offset).
    static func iso8601(_ text: String) -> Date? {
        var text = text
        // Foundation's parser takes at most three fractional digits.
        if let dot = text.firstIndex(of: ".") {
            let digits = text.index(after: dot)
            let end = text[digits...].firstIndex(where: { !$0.isNumber }) ?? text.endIndex
            if text.distance(from: digits, to: end) > 3 {
                text.removeSubrange(text.index(digits, offsetBy: 3)..<end)
            }
        }
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = fractional.date(from: text) { return date }
        return ISO8601DateFormatter().date(from: text)
    }

    /// Unix seconds, as a string or a number.
    static func unix(_ text: String) -> Date? {
        guard let seconds = Double(text.trimmingCharacters(in: .whitespaces)), seconds.isFinite else { return nil }
        return Date(timeIntervalSince1970: seconds)
    }
}

/// Equal secrets and signatures compared in time that does not depend on where they differ.
enum ConstantTime {
    static func equal<A: Collection<UInt8>, B: Collection<UInt8>>(_ a: A, _ b: B) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for (x, y) in zip(a, b) { difference |= x ^ y }
        return difference == 0
    }
}
