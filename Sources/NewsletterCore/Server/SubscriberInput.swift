import Foundation
import HTTPTypes
import Hummingbird

/// What the subscriber routes, the editor's test send, the login and the API read from a
/// request, each checked once: a bad value is a 422 naming the field.
enum SubscriberInput {
    static func emailAddress(_ value: String?) throws(BadRequest) -> MailAddress {
        let text = (value ?? "").trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty else { throw BadRequest(status: 422, "the field \"email\" is required") }
        do {
            return try MailAddress(text)
        } catch {
            throw BadRequest(status: 422, "the field \"email\": \(error)")
        }
    }

    /// Whether a form or JSON body says anything about topics. A form's unticked boxes send
    /// nothing, hence its hidden `topics-offered`; a JSON client sends `"topics": []` for everything.
    static func offersTopics(_ fields: FormFields) -> Bool {
        fields["topics-offered"] != nil || fields.repeated["topics"] != nil || !fields.all("topics").isEmpty
    }

    /// The ticked topics, checked against the store's; nil when the form offered no topics (an
    /// older form, or a client that posts only some fields: the stored choice stays).
    static func topicChoice(
        _ fields: FormFields, catalog: TopicCatalog, aliases: TopicAliases
    ) throws(BadRequest) -> TopicChoice? {
        guard offersTopics(fields) else { return nil }
        let ticked = fields.all("topics")
        guard ticked.count <= 200 else { throw BadRequest(status: 422, "the field \"topics\" lists too many topics") }
        do {
            return try catalog.choice(ticked, aliases: aliases)
        } catch {
            throw BadRequest(status: 422, "the field \"topics\": \(error)")
        }
    }

    static var maxNameLength: Int { 100 }

    static func displayName(_ value: String?) throws(BadRequest) -> String? {
        guard let text = value?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
        guard text.count <= maxNameLength else {
            throw BadRequest(status: 422, "the field \"name\" is longer than \(maxNameLength) characters")
        }
        guard !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw BadRequest(status: 422, "the field \"name\" contains control characters")
        }
        return text
    }

    static func preferences(_ fields: FormFields) throws(BadRequest) -> Preferences {
        let formatText = fields["format"] ?? "html"
        guard let format = Subscriber.Format(rawValue: formatText) else {
            throw BadRequest(status: 422, "the field \"format\" must be \"html\" or \"text\", not \"\(formatText)\"")
        }
        let paused = fields["paused"].map { !$0.isEmpty && $0 != "0" && $0 != "false" } ?? false
        return Preferences(name: try displayName(fields["name"]), format: format, paused: paused)
    }

    /// Tokens are 43 URL-safe base64 characters; anything else is not looked up at all.
    static func looksLikeToken(_ token: String) -> Bool {
        token.utf8.count == 43
            && token.utf8.allSatisfy {
                ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 || $0 == 95
            }
    }

    static func wantsJSON(_ request: Request) -> Bool {
        let type = request.headers[.contentType]?.lowercased() ?? ""
        let accept = request.headers[.accept]?.lowercased() ?? ""
        return type.hasPrefix("application/json")
            || (accept.contains("application/json") && !accept.contains("text/html"))
    }

    static func client(_ request: Request, _ context: some RequestContext, trustForwardedFor: Bool) -> ClientInfo {
        var address = (context as? any RemoteAddressRequestContext)?.remoteAddress?.ipAddress
        if trustForwardedFor, let forwarded = request.headers[values: HTTPField.Name("X-Forwarded-For")!].last,
            let last = forwarded.split(separator: ",").last?.trimmingCharacters(in: .whitespaces), !last.isEmpty
        {
            address = String(last.prefix(64))
        }
        return ClientInfo(address: address, userAgent: request.headers[.userAgent])
    }
}
