import Foundation

/// The row operations topics need, inside one transaction the caller holds: the topics a saved
/// comparison has (its tools' categories) and a subscriber's choice, whose changes go into the
/// consent trail. Each store implements them; the workflows are written once (see `BounceRows`).
protocol TopicRows {
    /// One line of the consent trail (as `SubscriberRows` has it).
    func recordConsent(
        subscriberID: Int64, event: String, client: ClientInfo, at time: Date, detail: String?) async throws
    func deleteComparisonTopics(of comparisonID: Int64) async throws
    /// Stores the topic `name` first seen at `time`, unless one of any case is stored.
    func insertTopic(_ name: String, at time: Date) async throws
    /// Gives the comparison the stored topic `name` names, in the spelling stored.
    func linkTopic(_ name: String, comparisonID: Int64) async throws
    func subscriberTopics(subscriberID: Int64) async throws -> [String]
    func deleteSubscriberTopics(subscriberID: Int64) async throws
    func insertSubscriberTopic(_ topic: String, subscriberID: Int64) async throws
}

extension TopicRows {
    /// Keeps a saved comparison's topics in step with its tools' categories.
    func replaceTopics(of comparisonID: Int64, with comparison: Comparison, at time: Date) async throws {
        try await deleteComparisonTopics(of: comparisonID)
        for category in comparison.tools.compactMap(\.category) {
            try await addTopic(category, comparisonID: comparisonID, at: time)
        }
    }

    func addTopic(_ category: String, comparisonID: Int64, at time: Date) async throws {
        let name = TopicAliases.clean(category)
        guard !name.isEmpty else { return }
        try await insertTopic(name, at: time)
        // The spelling first seen names the topic: "developer tools" later is the same one.
        try await linkTopic(name, comparisonID: comparisonID)
    }

    func topicChoice(subscriberID: Int64) async throws -> TopicChoice {
        TopicChoice(try await subscriberTopics(subscriberID: subscriberID))
    }

    /// Replaces the stored choice and records the change (`event`) in the consent trail;
    /// the same choice again changes and records nothing.
    func replaceTopicChoice(
        _ choice: TopicChoice, subscriberID: Int64, client: ClientInfo, at time: Date, event: String = "topics"
    ) async throws {
        guard try await topicChoice(subscriberID: subscriberID) != choice else { return }
        try await deleteSubscriberTopics(subscriberID: subscriberID)
        for topic in choice.topics { try await insertSubscriberTopic(topic, subscriberID: subscriberID) }
        try await recordConsent(
            subscriberID: subscriberID, event: event, client: client, at: time, detail: "topics=\(choice)")
    }
}
