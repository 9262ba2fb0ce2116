import Foundation

/// Where a request came from, for consent records and rate limits.
public struct ClientInfo: Sendable, Equatable {
    public var address: String?
    public var userAgent: String?

    public init(address: String?, userAgent: String?) {
        self.address = address
        self.userAgent = userAgent.map { String($0.prefix(512)) }
    }

    public static let commandLine = ClientInfo(address: nil, userAgent: "newsletter CLI")
}

/// How often one address may be sent a confirmation, and how long a confirmation link works.
public struct SignupPolicy: Sendable, Equatable {
    public var confirmationLifetime: TimeInterval = 3 * 24 * 3600
    /// A second signup for a pending address within this interval sends nothing new.
    public var resendInterval: TimeInterval = 10 * 60
    /// At most this many confirmation mails per address per day, however often it is entered.
    public var maxConfirmationsPerDay = 3

    public init() {}

    /// The confirmation mails an address was queued in the last 24 hours, as a store counts them.
    public struct RecentConfirmations: Sendable, Equatable {
        public var today: Int
        public var latest: Date?
        /// Queued and not yet sent.
        public var unsent: Int

        public init(today: Int, latest: Date?, unsent: Int) {
            self.today = today
            self.latest = latest
            self.unsent = unsent
        }
    }

    /// Whether one more confirmation may be queued for an address (the rule both stores apply):
    /// not while one is still unsent, not more than `maxConfirmationsPerDay` a day, and not
    /// within `resendInterval` of the last.
    public func allowsConfirmation(after recent: RecentConfirmations, at time: Date) -> Bool {
        if recent.unsent > 0 || recent.today >= maxConfirmationsPerDay { return false }
        if let latest = recent.latest, time.timeIntervalSince(latest) < resendInterval { return false }
        return true
    }
}

public enum SignupOutcome: Equatable, Sendable {
    /// A new or returning address: it is pending and a confirmation mail is queued.
    case confirmationQueued(subscriberID: Int64)
    /// The address is pending and was sent a confirmation recently (or too often today).
    case throttled
    /// The address is already confirmed: nothing is sent.
    case alreadyConfirmed
}

/// What a confirmation link is, before anyone presses the button.
public enum ConfirmationLink: Equatable, Sendable {
    case valid(email: String)
    case used
    case expired
    case unknown
}

public enum ConfirmOutcome: Equatable, Sendable {
    case confirmed(email: String)
    case used
    case expired
    case unknown
}

public enum UnsubscribeOutcome: Equatable, Sendable {
    case unsubscribed(email: String)
    case alreadyUnsubscribed(email: String)
    case unknownToken
}

/// What a subscriber can change on the preferences page.
public struct Preferences: Sendable, Equatable {
    public var name: String?
    public var format: Subscriber.Format
    public var paused: Bool
    /// Nil leaves the stored choice as it is (the form offered no topics).
    public var topics: TopicChoice? = nil

    public init(name: String?, format: Subscriber.Format, paused: Bool) {
        self.name = name
        self.format = format
        self.paused = paused
    }
}

/// A message the endpoint owes someone.
public struct EndpointMail: Sendable, Equatable {
    public enum Kind: String, Sendable, Codable {
        /// "Confirm your subscription", with a fresh confirmation link.
        case confirmation
        /// "You're in", with preferences and unsubscribe links.
        case welcome
    }

    public var id: Int64
    public var kind: Kind
    public var subscriber: Subscriber
    /// Including this one.
    public var attempt: Int
    /// When it was queued: past `EndpointMailQueue.giveUpAfter` it is no longer worth sending.
    public var createdAt: Date = Date()
}

/// What became of one endpoint mail.
public enum EndpointMailResult: Sendable, Equatable {
    case sent(reply: String)
    /// Try again at `next`.
    case retry(reply: String, next: Date)
    case failed(reply: String)
}

/// What the subscriber-facing routes and the endpoint's mail queue need from the store.
public protocol SubscriberEndpointStore: Sendable {
    /// The subscriber an unsubscribe (and preferences) token belongs to.
    func subscriber(unsubscribeToken: String) async throws -> Subscriber?
    /// Unsubscribes the token's subscriber; doing it twice changes nothing.
    func unsubscribe(token: String, client: ClientInfo, at time: Date) async throws -> UnsubscribeOutcome
    /// The same by the subscriber's id (the API); nil when there is no such subscriber.
    func unsubscribe(subscriberID: Int64, client: ClientInfo, at time: Date) async throws -> UnsubscribeOutcome?
    /// Records a signup and, unless throttled or already confirmed, queues a confirmation mail
    /// and sets the address's topic choice to `topics` when given (recorded in the consent
    /// trail), all in one transaction: what a signup form does.
    func requestSignup(
        _ address: MailAddress, name: String?, topics: TopicChoice?, client: ClientInfo, policy: SignupPolicy,
        at time: Date
    ) async throws -> SignupOutcome
    func confirmationLink(token: String, at time: Date) async throws -> ConfirmationLink
    /// Confirms the token's subscriber (once) and queues the welcome mail.
    func confirm(token: String, client: ClientInfo, at time: Date) async throws -> ConfirmOutcome
    /// Saves the preferences of the token's subscriber, if the token is known.
    func updatePreferences(token: String, _ preferences: Preferences, client: ClientInfo, at time: Date) async throws
        -> Subscriber?

    /// Claims up to `limit` mails due by `time`; a claim is a lease, so a crash mid-send means a
    /// retry once `lease` has passed, never a lost mail.
    func claimEndpointMail(limit: Int, at time: Date, lease: TimeInterval) async throws -> [EndpointMail]
    func recordEndpointMail(id: Int64, _ result: EndpointMailResult, at time: Date) async throws
    /// Hands back claimed mails that were not tried (the server is stopping): due at `time`, the
    /// claim's attempt not counted.
    func releaseEndpointMail(ids: [Int64], at time: Date) async throws
    /// A fresh confirmation token (stored hashed) for a mail about to be sent.
    func newConfirmationToken(subscriberID: Int64, lifetime: TimeInterval, at time: Date) async throws -> String
    /// A fresh unsubscribe/preferences token (stored hashed) for a mail about to be sent.
    func newUnsubscribeToken(subscriberID: Int64, at time: Date) async throws -> String
    /// Endpoint mails not yet sent.
    func endpointMailQueueDepth() async throws -> Int
}

extension SubscriberEndpointStore {
    /// A signup that leaves the topic choice as it is.
    public func requestSignup(
        _ address: MailAddress, name: String?, client: ClientInfo, policy: SignupPolicy, at time: Date
    ) async throws -> SignupOutcome {
        try await requestSignup(address, name: name, topics: nil, client: client, policy: policy, at: time)
    }
}
