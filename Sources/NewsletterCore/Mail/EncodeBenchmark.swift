import Foundation

/// `make bench`'s first row: a week's draft personalised and encoded for `count` made-up
/// readers, in memory, by the splicing encoder or (`reference`) by filling and encoding each
/// whole message as the encoder before issue 16 did.
public struct EncodeBenchmark: Sendable {
    public var subject: String
    public var html: String
    public var text: String
    public var delivery: DeliverySettings

    public init(subject: String, html: String, text: String, delivery: DeliverySettings) {
        self.subject = subject
        self.html = html
        self.text = text
        self.delivery = delivery
    }

    public struct Result: Sendable {
        public var messages: Int
        public var bytes: Int
        public var seconds: Double

        /// The line `make bench` reads.
        public var line: String {
            "messages=\(messages) seconds=\(String(format: "%.3f", seconds)) per_second=\(String(format: "%.0f", Double(messages) / seconds)) average_bytes=\(bytes / max(messages, 1))"
        }
    }

    public func run(count: Int, reference: Bool) throws -> Result {
        var bytes = 0
        let encoder = IssueEncoder(
            from: delivery.from, subject: subject, text: text, html: html, listID: delivery.listID,
            unsubscribeMailto: delivery.unsubscribeMailto, feedbackID: delivery.feedbackID)
        let elapsed = try ContinuousClock().measure {
            for index in 0..<count {
                let personalization = Personalization(
                    name: "Reader \(index)", unsubscribeURL: "\(delivery.publicURL)/unsubscribe/token\(index)",
                    preferencesURL: "\(delivery.publicURL)/preferences/token\(index)")
                let recipient = try MailAddress("reader\(index)@example.org", displayName: "Reader \(index)")
                if reference {
                    let message = OutgoingMessage(
                        from: delivery.from, to: recipient, subject: subject,
                        text: personalization.fill(text, html: false), html: personalization.fill(html, html: true),
                        listID: delivery.listID, unsubscribeURL: personalization.unsubscribeURL,
                        unsubscribeMailto: delivery.unsubscribeMailto, feedbackID: delivery.feedbackID)
                    bytes += try message.encoded().bytes.count
                } else {
                    bytes += try encoder.message(to: recipient, personalization: personalization).bytes.count
                }
            }
        }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return Result(messages: count, bytes: bytes, seconds: seconds)
    }
}
