import Foundation

/// What a token in a subscriber's link is for (each store's `purpose` column).
enum TokenPurpose: String {
    case confirm
    /// Unsubscribe and preferences.
    case unsubscribe
}

/// The subscriber a link's token belongs to, with the token's times.
struct TokenOwner {
    var subscriber: Subscriber
    var usedAt: Date?
    var expiresAt: Date?
}

/// The row operations the signup endpoint's flows need, inside one transaction the caller
/// holds (see `SubscriberRows`). Only what truly differs stays in each store: how a row is
/// held (`FOR UPDATE`, `SKIP LOCKED` on PostgreSQL; the SQLite write transaction holds all).
protocol EndpointRows: SubscriberRows, WebhookRows {
    /// The subscriber a token of `purpose` belongs to; `holdingRow` keeps the subscriber's row
    /// locked to the end of the transaction, so two presses of one link at once act once.
    func tokenOwner(_ token: String, purpose: TokenPurpose, holdingRow: Bool) async throws -> TokenOwner?
    /// Stores a token (its hash only, `LinkToken.hash`).
    func insertToken(hash: String, subscriberID: Int64, purpose: TokenPurpose, expiresAt: Date?, at time: Date)
        async throws
    /// Marks one token used, unless it already was.
    func spendToken(_ token: String, at time: Date) async throws
    /// Spends every outstanding confirmation link of the subscriber.
    func spendConfirmationTokens(subscriberID: Int64, at time: Date) async throws
    /// Confirmed from `time`, with the count of permanent failures started afresh.
    func markConfirmed(subscriberID: Int64, at time: Date) async throws
    func setPreferences(_ preferences: Preferences, subscriberID: Int64) async throws
    /// The confirmation mails queued for the subscriber since `time`, as the throttle counts them.
    func confirmationsQueued(subscriberID: Int64, since time: Date) async throws -> SignupPolicy.RecentConfirmations
    /// Queues a mail the endpoint owes the subscriber, due at once.
    func queueEndpointMail(_ kind: EndpointMail.Kind, subscriberID: Int64, at time: Date) async throws
    /// Up to `limit` pending mails due by `time`, in the order they fell due, each with the
    /// attempts made before; on PostgreSQL, rows another process holds are skipped.
    func dueEndpointMails(limit: Int, at time: Date) async throws -> [EndpointMail]
    /// One more attempt for each mail, leased (not due again) until `time`.
    func leaseEndpointMails(ids: [Int64], until time: Date) async throws
    /// Undoes a lease of mails still pending: one attempt fewer, due at `time`.
    func unleaseEndpointMails(ids: [Int64], dueAt time: Date) async throws
    /// Sets what is given (nil leaves a column as it is) and the last reply.
    func updateEndpointMail(id: Int64, state: String?, sentAt: Date?, nextAttemptAt: Date?, reply: String) async throws
}

extension EndpointRows {
    func subscriber(unsubscribeToken token: String) async throws -> Subscriber? {
        try await tokenOwner(token, purpose: .unsubscribe, holdingRow: false)?.subscriber
    }

    /// Records a signup and, unless throttled or already confirmed, queues a confirmation mail
    /// and (when given) sets the address's topic choice.
    func requestSignup(
        _ address: MailAddress, name: String?, topics: TopicChoice? = nil, client: ClientInfo, policy: SignupPolicy,
        at time: Date
    ) async throws -> SignupOutcome {
        let subscriberID: Int64
        if let id = try await insertSubscriber(
            email: address.address, name: name, status: .pending, confirmedAt: nil, at: time)
        {
            subscriberID = id
        } else {
            // Known, and its row held: two signups for one address at once (two hosts behind a
            // proxy) are taken one after the other, so the throttle holds.
            guard let known = try await subscriber(email: address.address, holdingRow: true) else {
                throw SubscriberVanished(email: address.address)
            }
            if known.status == .confirmed { return .alreadyConfirmed }
            // Pending, or unsubscribed or bounced and back: throttled per address (the core's
            // rule), so nobody can flood a stranger's inbox by entering it again and again.
            // Such a record stays as it is until the owner confirms.
            let recent = try await confirmationsQueued(
                subscriberID: known.id, since: time.addingTimeInterval(-24 * 3600))
            if !policy.allowsConfirmation(after: recent, at: time) { return .throttled }
            subscriberID = known.id
        }
        try await recordConsent(subscriberID: subscriberID, event: "signup", client: client, at: time, detail: nil)
        try await queueEndpointMail(.confirmation, subscriberID: subscriberID, at: time)
        if let topics {
            try await replaceTopicChoice(topics, subscriberID: subscriberID, client: client, at: time, event: "topics")
        }
        return .confirmationQueued(subscriberID: subscriberID)
    }

    func confirmationLink(token: String, at time: Date) async throws -> ConfirmationLink {
        guard let owner = try await tokenOwner(token, purpose: .confirm, holdingRow: false) else { return .unknown }
        switch LinkToken.confirmationState(usedAt: owner.usedAt, expiresAt: owner.expiresAt, at: time) {
        case .used: return .used
        case .expired: return .expired
        case .usable: return .valid(email: owner.subscriber.email)
        }
    }

    func confirm(token: String, client: ClientInfo, at time: Date) async throws -> ConfirmOutcome {
        guard let owner = try await tokenOwner(token, purpose: .confirm, holdingRow: true) else { return .unknown }
        switch LinkToken.confirmationState(usedAt: owner.usedAt, expiresAt: owner.expiresAt, at: time) {
        case .used: return .used
        case .expired: return .expired
        case .usable: break
        }
        // Every outstanding confirmation link of this address is spent by the first one used.
        try await spendConfirmationTokens(subscriberID: owner.subscriber.id, at: time)
        try await markConfirmed(subscriberID: owner.subscriber.id, at: time)
        try await recordSubscriberEvent(.subscriberConfirmed, subscriberID: owner.subscriber.id, at: time)
        // The owner opted in again: an earlier erasure no longer keeps the address out.
        try await liftSuppression(owner.subscriber.email)
        try await recordConsent(
            subscriberID: owner.subscriber.id, event: "confirm", client: client, at: time, detail: nil)
        try await queueEndpointMail(.welcome, subscriberID: owner.subscriber.id, at: time)
        return .confirmed(email: owner.subscriber.email)
    }

    func unsubscribe(token: String, client: ClientInfo, at time: Date) async throws -> UnsubscribeOutcome {
        guard let subscriber = try await tokenOwner(token, purpose: .unsubscribe, holdingRow: true)?.subscriber else {
            return .unknownToken
        }
        try await spendToken(token, at: time)
        return try await unsubscribe(subscriber, client: client, at: time)
    }

    /// The unsubscribe itself, however it was asked for (a mail's link, the API).
    func unsubscribe(_ subscriber: Subscriber, client: ClientInfo, at time: Date) async throws -> UnsubscribeOutcome {
        if subscriber.status == .unsubscribed { return .alreadyUnsubscribed(email: subscriber.email) }
        _ = try await setStatus(
            of: subscriber.id, to: .unsubscribed, from: Subscriber.Status.allCases.filter { $0 != .unsubscribed })
        try await recordSubscriberEvent(.subscriberUnsubscribed, subscriberID: subscriber.id, at: time)
        try await recordConsent(
            subscriberID: subscriber.id, event: "unsubscribe", client: client, at: time, detail: nil)
        return .unsubscribed(email: subscriber.email)
    }

    func updatePreferences(token: String, _ preferences: Preferences, client: ClientInfo, at time: Date) async throws
        -> Subscriber?
    {
        guard let subscriber = try await tokenOwner(token, purpose: .unsubscribe, holdingRow: true)?.subscriber else {
            return nil
        }
        try await setPreferences(preferences, subscriberID: subscriber.id)
        try await recordConsent(
            subscriberID: subscriber.id, event: "preferences", client: client, at: time,
            detail: "format=\(preferences.format.rawValue) paused=\(preferences.paused)")
        if let topics = preferences.topics {
            try await replaceTopicChoice(topics, subscriberID: subscriber.id, client: client, at: time, event: "topics")
        }
        return try await self.subscriber(id: subscriber.id)
    }

    /// A fresh token for a link in a mail about to be sent; the store keeps only its hash.
    func newToken(subscriberID: Int64, purpose: TokenPurpose, expiresAt: Date?, at time: Date) async throws -> String {
        let token = LinkToken.make()
        try await insertToken(
            hash: LinkToken.hash(token), subscriberID: subscriberID, purpose: purpose, expiresAt: expiresAt, at: time)
        return token
    }

    /// Claims the due mails under a lease: a crash mid-send means a retry once it has passed.
    func claimEndpointMail(limit: Int, at time: Date, lease: TimeInterval) async throws -> [EndpointMail] {
        let due = try await dueEndpointMails(limit: limit, at: time)
        guard !due.isEmpty else { return [] }
        try await leaseEndpointMails(ids: due.map(\.id), until: time.addingTimeInterval(lease))
        return due.map { mail in
            var claimed = mail
            claimed.attempt += 1
            return claimed
        }
    }

    func recordEndpointMail(id: Int64, _ result: EndpointMailResult, at time: Date) async throws {
        switch result {
        case .sent(let reply):
            try await updateEndpointMail(id: id, state: "sent", sentAt: time, nextAttemptAt: nil, reply: reply)
        case .retry(let reply, let next):
            try await updateEndpointMail(id: id, state: nil, sentAt: nil, nextAttemptAt: next, reply: reply)
        case .failed(let reply):
            try await updateEndpointMail(id: id, state: "failed", sentAt: nil, nextAttemptAt: nil, reply: reply)
        }
    }
}
