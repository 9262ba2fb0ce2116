import Foundation

/// What a bounce, a complaint or a refusal says about a subscriber's address.
public enum BounceKind: String, Sendable, Codable, CaseIterable {
    /// The address does not work (5.1.x, 5.2.1, 5.4.4): the subscriber is marked bounced at once.
    case hard
    /// Maybe passing (4.x.x, `Action: delayed`, 5.2.2 mailbox full, an unspecific 5.0.0):
    /// counted; enough of them within the window mark the subscriber bounced.
    case soft
    /// The receiver refused the message or us (5.7.x spam, authentication; 5.6.x content;
    /// 5.1.7/5.1.8 our sender address), not the address: counted per issue, shown as a warning.
    case policy
    /// An out-of-office or vacation reply: ignored, counted.
    case autoReply
    /// An ARF abuse report ("this is spam"): the subscriber is unsubscribed at once.
    case complaint
    /// A DSN that reports success (`Action: delivered`, `relayed`, `expanded`).
    case delivered
}

/// What a bounce says, before it is classified: from a DSN, an ARF report, the fallback
/// parser, or an SMTP reply at send time.
public struct BounceEvidence: Sendable, Equatable {
    /// RFC 3463 enhanced status, e.g. `5.1.1`.
    public var status: String?
    /// RFC 3464 Action: failed, delayed, delivered, relayed, expanded.
    public var action: String?
    /// Diagnostic-Code or the SMTP reply text.
    public var diagnostic: String?
    /// The basic SMTP reply code when the status is not given (550).
    public var replyCode: Int?
    public var isComplaint = false
    public var isAutoReply = false

    public init(
        status: String? = nil, action: String? = nil, diagnostic: String? = nil, replyCode: Int? = nil,
        isComplaint: Bool = false, isAutoReply: Bool = false
    ) {
        self.status = status
        self.action = action
        self.diagnostic = diagnostic
        self.replyCode = replyCode
        self.isComplaint = isComplaint
        self.isAutoReply = isAutoReply
    }

    /// An SMTP reply as the server gave it at send time, `550 5.1.1 <x@y>: user unknown`
    /// (libcurl's multi-line replies joined with " / ").
    public init(smtpReply reply: String) {
        self.init(diagnostic: reply)
        replyCode = Int(reply.prefix(3))
        status = EnhancedStatus.find(in: reply)?.description
    }
}

/// An RFC 3463 enhanced status code, `class.subject.detail`.
public struct EnhancedStatus: Sendable, Equatable, CustomStringConvertible {
    public var klass: Int
    public var subject: Int
    public var detail: Int

    public init?(_ text: some StringProtocol) {
        let parts = text.trimmingCharacters(in: .whitespaces).split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let klass = Int(parts[0]), [2, 4, 5].contains(klass), let subject = Int(parts[1]),
            let detail = Int(parts[2]), (0...999).contains(subject), (0...999).contains(detail),
            parts[1].count <= 3, parts[2].count <= 3
        else { return nil }
        self.klass = klass
        self.subject = subject
        self.detail = detail
    }

    public var description: String { "\(klass).\(subject).\(detail)" }

    /// The first `d.d{1,3}.d{1,3}` token in a reply or diagnostic (`550 5.1.1 ...`, `smtp; 550 #5.1.0`).
    static func find(in text: String) -> EnhancedStatus? {
        for token in text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "(" || $0 == ")" || $0 == ";" }) {
            var word = Substring(token)
            if word.first == "#" { word = word.dropFirst() }
            while let last = word.last, last == "," || last == ":" { word = word.dropLast() }
            if let status = EnhancedStatus(word) { return status }
        }
        return nil
    }
}

/// What becomes of the subscriber after a bounce.
public enum BounceEffect: Sendable, Equatable {
    case none
    case markBounced(reason: String)
    case unsubscribe
}

/// The one rule for bounces, complaints and send-time refusals: how evidence is classified and
/// what each class does to a subscriber. The store runs it inside the transaction that records
/// the bounce; nothing about it lives in SQL.
public struct BounceRule: Sendable, Equatable {
    /// `mail.bounce_after`: soft bounces within the window that mark a subscriber bounced.
    public var softBounceLimit: Int
    /// `mail.bounce_window`.
    public var softBounceWindow: TimeInterval

    public init(softBounceLimit: Int = 3, softBounceWindow: TimeInterval = 30 * 86400) {
        self.softBounceLimit = softBounceLimit
        self.softBounceWindow = softBounceWindow
    }

    /// RFC 3463 first; the diagnostic text only where the code says nothing specific (x.0.0, or
    /// a bare 550), which is how most servers word "user unknown" or "blocked as spam".
    public static func classify(_ evidence: BounceEvidence) -> BounceKind {
        if evidence.isComplaint { return .complaint }
        if evidence.isAutoReply { return .autoReply }
        let action = evidence.action?.lowercased().trimmingCharacters(in: .whitespaces)
        if action == "delayed" { return .soft }
        if let action, ["delivered", "relayed", "expanded"].contains(action) { return .delivered }
        let status = evidence.status.flatMap(EnhancedStatus.init)
        let text = evidence.diagnostic?.lowercased() ?? ""
        if let status {
            switch (status.klass, status.subject, status.detail) {
            case (2, _, _): return .delivered
            case (4, _, _): return .soft
            case (5, 1, 7), (5, 1, 8): return .policy  // our sender address, not theirs
            case (5, 1, _): return .hard
            case (5, 2, 1): return .hard
            case (5, 2, 2): return .soft
            case (5, 4, 4): return .hard
            case (5, 6, _), (5, 7, _): return .policy
            case (5, 0, 0): return textual(text) ?? .soft
            default: return .soft
            }
        }
        if let code = evidence.replyCode {
            if (400..<500).contains(code) { return .soft }
            if (200..<300).contains(code) { return .delivered }
        }
        return textual(text) ?? .soft
    }

    /// The wordings the major receivers use when the code is unspecific.
    static func textual(_ text: String) -> BounceKind? {
        let policy = [
            "spam", "blocked", "blacklist", "blocklist", "block list", "policy", "dmarc", "spf", "dkim",
            "authentication", "reputation", "rejected due to", "not authorized", "denied",
        ]
        let full = ["mailbox full", "over quota", "quota exceeded", "mailbox is full", "insufficient storage"]
        let unknown = [
            "user unknown", "unknown user", "no such user", "does not exist", "doesn't exist", "invalid recipient",
            "recipient unknown", "unknown recipient", "no mailbox", "mailbox unavailable", "address rejected",
            "account disabled", "account has been disabled", "no longer", "not found", "unrouteable",
            "mailbox not found", "invalid mailbox",
        ]
        if full.contains(where: text.contains) { return .soft }
        if policy.contains(where: text.contains) { return .policy }
        if unknown.contains(where: text.contains) { return .hard }
        return nil
    }

    /// What a bounce of `kind` does, given the subscriber's soft bounces (each at the time its
    /// message was sent, this one included) and their last delivery that did not bounce.
    /// A soft bounce counts when it is within the window before `now` and after that delivery.
    public func effect(
        of kind: BounceKind, softBounces: [Date], lastGoodDelivery: Date?, now: Date
    ) -> BounceEffect {
        switch kind {
        case .hard: return .markBounced(reason: "hard bounce")
        case .complaint: return .unsubscribe
        case .policy, .autoReply, .delivered: return .none
        case .soft:
            let windowStart = now.addingTimeInterval(-softBounceWindow)
            let counted = softBounces.filter { sent in
                sent >= windowStart && lastGoodDelivery.map { sent > $0 } ?? true
            }.count
            guard counted >= softBounceLimit else { return .none }
            return .markBounced(reason: "\(counted) soft bounces within \(Int(softBounceWindow / 86400)) days")
        }
    }

    /// Complaints above this share of the delivered copies of an issue get mail binned by the
    /// large receivers (Gmail's and Yahoo's bulk-sender rules).
    public static let complaintRateThreshold = 0.003
}

extension BounceTally {
    /// What the tally says needs a person: policy refusals, a complaint rate past the limit.
    public var warnings: [String] {
        let tally = self
        var warnings: [String] = []
        if tally.policy > 0 {
            warnings.append(
                "\(tally.policy) polic\(tally.policy == 1 ? "y refusal" : "y refusals") (5.7.x: spam, authentication): receivers refused the message or the sender, not the address; check SPF, DKIM and DMARC"
            )
        }
        if tally.complaintRateTooHigh, let rate = tally.complaintRate {
            warnings.append(
                String(
                    format:
                        "complaint rate %.2f %% is at or above 0.3 %%: Gmail and Yahoo bin or refuse bulk mail past it",
                    rate * 100))
        }
        return warnings
    }
}
