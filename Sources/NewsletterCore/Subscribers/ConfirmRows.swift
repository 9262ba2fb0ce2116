import Foundation

/// One line of the consent trail, inside the caller's transaction: a row operation several
/// workflows share (bounces, the endpoint's flows).
protocol ConsentRows {
    func recordConsent(
        subscriberID: Int64, event: String, client: ClientInfo, at time: Date, detail: String?) throws
}

/// The row operations the endpoint's confirm flow needs, inside one transaction the caller
/// holds; each store implements them and `confirm` is written once over them (see `BounceRows`).
protocol ConfirmRows: ConsentRows {
    /// The subscriber a confirmation token belongs to, with the token's times. The subscriber's
    /// row stays held to the end of the transaction, so two presses of the button at once
    /// confirm once and queue one welcome.
    func confirmationTokenOwner(_ token: String) throws -> (subscriber: Subscriber, usedAt: Date?, expiresAt: Date?)?
    /// Spends every outstanding confirmation link of the subscriber.
    func spendConfirmationTokens(subscriberID: Int64, at time: Date) throws
    /// Confirmed from `time`, with the count of permanent failures started afresh.
    func markConfirmed(subscriberID: Int64, at time: Date) throws
    /// Queues a mail the endpoint owes the subscriber, due at once.
    func queueEndpointMail(_ kind: EndpointMail.Kind, subscriberID: Int64, at time: Date) throws
}

extension ConfirmRows {
    func confirm(token: String, client: ClientInfo, at time: Date) throws -> ConfirmOutcome {
        guard let owner = try confirmationTokenOwner(token) else { return .unknown }
        switch LinkToken.confirmationState(usedAt: owner.usedAt, expiresAt: owner.expiresAt, at: time) {
        case .used: return .used
        case .expired: return .expired
        case .usable: break
        }
        // Every outstanding confirmation link of this address is spent by the first one used.
        try spendConfirmationTokens(subscriberID: owner.subscriber.id, at: time)
        try markConfirmed(subscriberID: owner.subscriber.id, at: time)
        try recordConsent(subscriberID: owner.subscriber.id, event: "confirm", client: client, at: time, detail: nil)
        try queueEndpointMail(.welcome, subscriberID: owner.subscriber.id, at: time)
        return .confirmed(email: owner.subscriber.email)
    }
}
