import Foundation

/// `[topics.aliases]` (a page category = the topic readers see) and `issue.max_variants`.
extension SettingsReader {
    static let topicKeys = ["topics.aliases", "issue.max_variants"]

    mutating func topicAliases() throws(ConfigurationError) -> TopicAliases {
        let prefix = "topics.aliases."
        var aliases: [String: String] = [:]
        for key in values.keys.sorted() where key.hasPrefix(prefix) {
            let category = TopicAliases.clean(String(key.dropFirst(prefix.count)))
            guard let topic = try string(key, nonEmpty: true) else { continue }
            guard !category.isEmpty else { throw invalid(key, "an alias needs a category name on the left") }
            if aliases.keys.contains(where: { TopicAliases.fold($0) == TopicAliases.fold(category) }) {
                throw invalid(key, "the category \"\(category)\" has two aliases")
            }
            aliases[category] = topic
        }
        // One step only: a topic that is itself renamed would make the result depend on order.
        for (category, topic) in aliases.sorted(by: { $0.key < $1.key })
        where TopicAliases.fold(topic) != TopicAliases.fold(category)
            && aliases.keys.contains(where: { TopicAliases.fold($0) == TopicAliases.fold(topic) })
        {
            throw invalid(
                "\(prefix)\(category)",
                "\"\(topic)\" is itself renamed by another alias; point \"\(category)\" at the final name")
        }
        return TopicAliases(aliases)
    }
}
