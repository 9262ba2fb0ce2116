import Foundation

/// What one message in the bounce mailbox reports.
public struct ParsedBounce: Sendable, Equatable {
    public enum Shape: String, Sendable {
        /// RFC 3464 `multipart/report; report-type=delivery-status`.
        case deliveryStatus
        /// RFC 5965 `multipart/report; report-type=feedback-report`.
        case feedbackReport
        /// An out-of-office or vacation reply (RFC 3834 headers or their common stand-ins).
        case autoReply
        /// A mailer daemon's plain-text bounce, read by the fallback heuristics.
        case plainBounce
    }

    /// One recipient the report is about.
    public struct Recipient: Sendable, Equatable {
        /// The DSN's Final-Recipient (or Original-Recipient), the ARF's Original-Rcpt-To, or the
        /// address the fallback found; nil when the report does not say.
        public var address: String?
        public var evidence: BounceEvidence

        public init(address: String?, evidence: BounceEvidence) {
            self.address = address
            self.evidence = evidence
        }
    }

    /// `mid:<Message-ID>`, or `sha256:<hash of the bytes>` for a message without one: a
    /// bounce fetched twice (a crash between storing and deleting) is recognised by it.
    public var key: String
    public var shape: Shape
    public var recipients: [Recipient]
    /// Tokens of our VERP addresses found in the report's envelope headers or the original's.
    public var verpTokens: [String]
    /// The Message-ID of our message that bounced, when the report returns its headers.
    public var originalMessageID: String?
    /// The original's To addresses.
    public var originalRecipients: [String]

    public init(
        key: String, shape: Shape, recipients: [Recipient], verpTokens: [String] = [], originalMessageID: String? = nil,
        originalRecipients: [String] = []
    ) {
        self.key = key
        self.shape = shape
        self.recipients = recipients
        self.verpTokens = verpTokens
        self.originalMessageID = originalMessageID
        self.originalRecipients = originalRecipients
    }
}

/// Reads DSNs, ARF reports, auto-replies and the common non-standard bounces.
public struct BounceParser: Sendable {
    public var verp: VERPAddress?

    public init(verp: VERPAddress?) {
        self.verp = verp
    }

    public func parse(_ bytes: [UInt8]) throws(BounceParseError) -> ParsedBounce {
        let message = InboundMessage(bytes: bytes)
        guard !message.headers.fields.isEmpty else {
            throw BounceParseError("not a mail message: it does not start with header fields")
        }
        let key =
            message.headers["message-id"].map(Self.bareMessageID).flatMap { $0.isEmpty ? nil : "mid:\($0)" }
            ?? "sha256:\(Hex.sha256(bytes))"
        let type = message.contentType
        var tokens = verpTokens(in: message.headers, names: Self.envelopeHeaders)

        if type.mimeType == "multipart/report" {
            let reportType = type.parameters["report-type"]?.lowercased()
            let leaves = try message.leaves()
            let original = leaves.first { ["message/rfc822", "text/rfc822-headers"].contains($0.contentType.mimeType) }
                .map(\.embedded)
            if let original { tokens += verpTokens(in: original.headers, names: Self.originalHeaders) }
            let originalID = original?.headers["message-id"].map(Self.bareMessageID)
            let originalTo = original.map { Addresses.find(in: $0.headers.all("to").joined(separator: ", ")) } ?? []
            switch reportType {
            case "delivery-status":
                guard
                    let status = leaves.first(where: {
                        ["message/delivery-status", "message/global-delivery-status"].contains($0.contentType.mimeType)
                    })
                else {
                    throw BounceParseError(
                        "a delivery-status report without its message/delivery-status part")
                }
                let groups = MessageHeaders.groups(status.bytes, range: status.bodyStart..<status.bodyEnd)
                let perRecipient = groups.filter {
                    $0["final-recipient"] != nil || $0["original-recipient"] != nil || $0["action"] != nil
                }
                guard !perRecipient.isEmpty else {
                    throw BounceParseError(
                        "the delivery-status part names no recipient (no Final-Recipient, Original-Recipient or Action field)"
                    )
                }
                let recipients = perRecipient.map { group in
                    ParsedBounce.Recipient(
                        address: (group["final-recipient"] ?? group["original-recipient"]).flatMap(Self.dsnAddress),
                        evidence: BounceEvidence(
                            status: group["status"].flatMap { EnhancedStatus.find(in: $0)?.description },
                            action: group["action"], diagnostic: group["diagnostic-code"]))
                }
                return ParsedBounce(
                    key: key, shape: .deliveryStatus, recipients: recipients, verpTokens: Self.unique(tokens),
                    originalMessageID: originalID, originalRecipients: originalTo)
            case "feedback-report":
                guard let report = leaves.first(where: { $0.contentType.mimeType == "message/feedback-report" }) else {
                    throw BounceParseError("a feedback report without its message/feedback-report part")
                }
                let fields = MessageHeaders.parse(report.bytes, range: report.bodyStart..<report.bodyEnd).0
                let feedbackType = fields["feedback-type"]?.lowercased() ?? ""
                guard ["abuse", "fraud", "other"].contains(feedbackType) else {
                    throw BounceParseError(
                        "a feedback report of type \"\(feedbackType)\", which is not a complaint (abuse, fraud, other)")
                }
                let address = fields["original-rcpt-to"].flatMap { Addresses.find(in: $0).first }
                // The envelope sender of the reported copy: our VERP address, when the receiver keeps it.
                tokens += verpTokens(in: fields, names: ["original-mail-from"])
                return ParsedBounce(
                    key: key, shape: .feedbackReport,
                    recipients: [
                        .init(
                            address: address,
                            evidence: BounceEvidence(diagnostic: "feedback report: \(feedbackType)", isComplaint: true))
                    ], verpTokens: Self.unique(tokens), originalMessageID: originalID, originalRecipients: originalTo)
            default:
                break  // another kind of report: try the fallback below
            }
        }

        if looksLikeMailerDaemon(message) {
            return try plainBounce(message, key: key, tokens: tokens)
        }
        if Self.isAutoReply(message.headers) {
            let from = Addresses.find(in: message.headers["from"] ?? "").first
            return ParsedBounce(
                key: key, shape: .autoReply,
                recipients: [.init(address: from, evidence: BounceEvidence(isAutoReply: true))],
                verpTokens: Self.unique(tokens), originalMessageID: nil, originalRecipients: [])
        }
        throw BounceParseError(
            "not a bounce, complaint or auto-reply: no delivery-status or feedback report, not from a mailer daemon, no auto-reply headers"
        )
    }

    // MARK: - The fallback

    private func looksLikeMailerDaemon(_ message: InboundMessage) -> Bool {
        let from = message.headers["from"]?.lowercased() ?? ""
        let subject = message.headers["subject"]?.lowercased() ?? ""
        if ["mailer-daemon", "postmaster", "mail delivery subsystem", "mail delivery system"].contains(where: {
            from.contains($0)
        }) {
            return true
        }
        return [
            "undeliverable", "undelivered mail", "delivery status notification", "mail delivery failed",
            "returned mail", "failure notice", "delivery failure", "could not be delivered", "delivery has failed",
        ].contains(where: subject.contains)
    }

    private func plainBounce(_ message: InboundMessage, key: String, tokens: [String]) throws(BounceParseError)
        -> ParsedBounce
    {
        let leaves = try message.leaves()
        let text = leaves.filter { $0.contentType.mimeType.hasPrefix("text/plain") }.map { $0.text() }
            .joined(separator: "\n")
        var tokens = tokens
        var originalID: String?
        var originalTo: [String] = []
        if let original = leaves.first(where: {
            ["message/rfc822", "text/rfc822-headers"].contains($0.contentType.mimeType)
        })?.embedded {
            tokens += verpTokens(in: original.headers, names: Self.originalHeaders)
            originalID = original.headers["message-id"].map(Self.bareMessageID)
            originalTo = Addresses.find(in: original.headers.all("to").joined(separator: ", "))
        }
        let lines = text.split(whereSeparator: \.isNewline).map(String.init)
        // A quoted original inline ("------ This is a copy of the message, including all the headers").
        if originalID == nil, let line = lines.first(where: { $0.lowercased().hasPrefix("message-id:") }) {
            originalID = Self.bareMessageID(String(line.dropFirst("message-id:".count)))
        }
        if let verp { tokens += verp.tokens(in: text) }
        // The diagnostic: the first line with an SMTP reply code or an enhanced status.
        let diagnosticLine = lines.first { line in
            EnhancedStatus.find(in: line) != nil
                || line.split(separator: " ").contains {
                    $0.count == 3 && ($0.hasPrefix("5") || $0.hasPrefix("4")) && Int($0) != nil
                }
        }
        let daemon = Addresses.find(in: message.headers["from"] ?? "")
        let ours = verp.map { $0.base.address.lowercased() }
        let address = Addresses.find(in: text).first { candidate in
            !daemon.contains(candidate) && candidate != ours
                && !(verp.map { !$0.tokens(in: candidate).isEmpty } ?? false)
                && !candidate.hasPrefix("mailer-daemon@") && !candidate.hasPrefix("postmaster@")
        }
        let code = diagnosticLine.flatMap { line in
            line.split(separator: " ").compactMap { Int($0) }.first { (400..<600).contains($0) }
        }
        let evidence = BounceEvidence(
            status: (diagnosticLine ?? "").isEmpty ? nil : EnhancedStatus.find(in: diagnosticLine!)?.description,
            action: "failed", diagnostic: diagnosticLine ?? lines.prefix(20).joined(separator: " "), replyCode: code)
        return ParsedBounce(
            key: key, shape: .plainBounce, recipients: [.init(address: address, evidence: evidence)],
            verpTokens: Self.unique(tokens), originalMessageID: originalID, originalRecipients: originalTo)
    }

    // MARK: - Helpers

    /// Where a bounce's envelope recipient (our VERP address) shows in the headers.
    static let envelopeHeaders = ["to", "delivered-to", "x-original-to", "envelope-to", "x-envelope-to", "cc"]
    /// Where our envelope sender shows in a returned original.
    static let originalHeaders = ["return-path", "sender", "errors-to"]

    private func verpTokens(in headers: MessageHeaders, names: [String]) -> [String] {
        guard let verp else { return [] }
        return names.flatMap { headers.all($0) }.flatMap { verp.tokens(in: $0) }
    }

    static func isAutoReply(_ headers: MessageHeaders) -> Bool {
        if let auto = headers["auto-submitted"]?.lowercased(), !auto.hasPrefix("no") { return true }
        if headers["x-autoreply"] != nil || headers["x-autorespond"] != nil || headers["x-autoresponder"] != nil {
            return true
        }
        if let precedence = headers["precedence"]?.lowercased(), precedence.contains("auto_reply") { return true }
        if headers["x-auto-response-suppress"] != nil && headers["in-reply-to"] == nil { return true }
        let subject = headers["subject"]?.lowercased() ?? ""
        return ["out of office", "automatic reply", "auto-reply", "autoreply", "auto reply", "vacation", "away from"]
            .contains(where: subject.contains)
    }

    /// `rfc822; someone@example.net` → `someone@example.net`.
    static func dsnAddress(_ field: String) -> String? {
        let value = field.split(separator: ";", maxSplits: 1).last.map(String.init) ?? field
        return Addresses.find(in: value).first
    }

    static func bareMessageID(_ value: String) -> String {
        value.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "<>"))
    }

    static func unique(_ values: [String]) -> [String] {
        var seen = Set<String>()
        return values.filter { seen.insert($0).inserted }
    }
}

/// Mail addresses in free text, lower-cased, in order of appearance.
enum Addresses {
    static func find(in text: String) -> [String] {
        var found: [String] = []
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.!#$%&'*+-/=?^_`{|}~@")
        for word in text.split(whereSeparator: { !allowed.contains($0) }) {
            var candidate = Substring(word)
            while let last = candidate.last, last == "." || last == "-" { candidate = candidate.dropLast() }
            while let first = candidate.first, first == "." { candidate = candidate.dropFirst() }
            let parts = candidate.split(separator: "@", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasSuffix(".") else {
                continue
            }
            let address = candidate.lowercased()
            if !found.contains(address) { found.append(address) }
        }
        return found
    }
}
