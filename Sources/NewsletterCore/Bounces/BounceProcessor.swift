import Foundation
import Logging

/// Turns a received report into stored bounces: parse, find whom it is about (the VERP
/// address first, then the returned original's Message-ID, then the recipient the report
/// names, then the original's To), classify by the one rule, store.
public struct BounceProcessor<Store: BounceStore>: Sendable {
    public var store: Store
    public var parser: BounceParser
    public var rule: BounceRule
    /// The time bounces are recorded at (and the rule's window ends at).
    public var time: any TimeSource
    public var maxMessageBytes: Int

    public init(
        store: Store, verp: VERPAddress?, rule: BounceRule, maxMessageBytes: Int = 25 << 20,
        time: any TimeSource = SystemTime()
    ) {
        self.store = store
        parser = BounceParser(verp: verp)
        self.rule = rule
        self.maxMessageBytes = maxMessageBytes
        self.time = time
    }

    public typealias Learnt = LearntBounce

    public typealias Outcome = BounceOutcome

    /// Processes one message; throws only when the store fails (then nothing was recorded).
    public func process(_ bytes: [UInt8], source: BounceSource) async throws -> Outcome {
        guard bytes.count <= maxMessageBytes else {
            return .refused(
                "it is \(ByteCount(bytes.count)), over bounces.max_message_bytes (\(ByteCount(maxMessageBytes)))")
        }
        let parsed: ParsedBounce
        do {
            parsed = try parser.parse(bytes)
        } catch {
            return .refused(error.reason)
        }
        return try await record(parsed, source: source)
    }

    /// Stores a report that arrived already parsed (a relay's webhook) or was parsed above.
    public func record(_ parsed: ParsedBounce, source: BounceSource) async throws -> Outcome {
        let time = self.time.now()
        var learnt: [Learnt] = []
        var unresolved: [String] = []
        var duplicates = 0
        for (index, recipient) in parsed.recipients.enumerated() {
            let kind = BounceRule.classify(recipient.evidence)
            let whom: (week: IssueWeek?, subscriber: Subscriber)?
            switch await try resolve(recipient, in: parsed, at: time) {
            case .found(let week, let subscriber): whom = (week, subscriber)
            case .notFound(let reason):
                // An auto-reply or a success notice changes nothing for anyone: counted even
                // when it cannot be placed. Anything else about no one we mailed is refused.
                guard kind == .autoReply || kind == .delivered else {
                    unresolved.append(reason)
                    continue
                }
                whom = nil
            }
            let key = parsed.recipients.count > 1 ? "\(parsed.key)#\(index)" : parsed.key
            let record = BounceRecord(
                key: key, subscriberID: whom?.subscriber.id, week: whom?.week, kind: kind,
                evidence: recipient.evidence, source: source, receivedAt: time)
            switch try await store.recordBounce(record, rule: rule) {
            case .duplicate: duplicates += 1
            case .recorded(let effect):
                learnt.append(Learnt(email: whom?.subscriber.email, week: whom?.week, kind: kind, effect: effect))
            }
        }
        if !learnt.isEmpty { return .recorded(learnt) }
        if duplicates > 0 { return .duplicate }
        return .refused(unresolved.joined(separator: "; "))
    }

    enum Resolution {
        case found(IssueWeek?, Subscriber)
        case notFound(String)
    }

    private func resolve(_ recipient: ParsedBounce.Recipient, in parsed: ParsedBounce, at time: Date) async throws
        -> Resolution
    {
        for token in parsed.verpTokens {
            if let hit = try await store.verpRecipient(token: token),
                let subscriber = try await store.subscriber(id: hit.subscriberID)
            {
                return .found(hit.week, subscriber)
            }
        }
        if let id = parsed.originalMessageID, let hit = try await store.delivery(messageID: id),
            let subscriber = try await store.subscriber(id: hit.subscriberID)
        {
            return .found(hit.week, subscriber)
        }
        let candidates = [recipient.address].compactMap { $0 } + parsed.originalRecipients
        guard !candidates.isEmpty else {
            return .notFound(
                "it names no recipient: no VERP address of ours, no original Message-ID we sent, no Final-Recipient or original To"
            )
        }
        for address in candidates {
            guard let subscriber = try await store.subscriber(email: address) else { continue }
            guard let week = try await store.lastDeliveredWeek(subscriberID: subscriber.id, before: time) else {
                return .notFound("it is about \(address), to whom no issue was ever delivered")
            }
            return .found(week, subscriber)
        }
        return .notFound("it is about \(candidates.joined(separator: ", ")), not on the list")
    }
}

/// One recipient's bounce as stored.
public struct LearntBounce: Sendable, Equatable {
    public var email: String?
    public var week: IssueWeek?
    public var kind: BounceKind
    public var effect: BounceEffect
}

/// What became of one message.
public enum BounceOutcome: Sendable, Equatable {
    case recorded([LearntBounce])
    /// Stored by an earlier fetch or import: safe to delete, nothing counted again.
    case duplicate
    /// Not usable (malformed, about no one we mailed): left where it is, with the reason.
    case refused(String)

    /// Whether the message may now leave the mailbox.
    public var stored: Bool {
        if case .refused = self { return false }
        return true
    }
}
