import Crypto
import Foundation

/// The editor's `[topics.aliases]`: a page's category on the left, the topic readers see on the
/// right. Two categories with one alias merge; a single alias renames. Every topic name the
/// tool shows, stores for a subscriber or restricts an issue by goes through `resolve`, so an
/// alias changes all of them at once without touching a page.
public struct TopicAliases: Sendable, Equatable {
    /// Keyed by the folded category (see `fold`).
    private var aliases: [String: String]
    /// As configured, for `newsletter config`: category and topic, by category.
    public let entries: [(category: String, topic: String)]

    public init(_ aliases: [String: String] = [:]) {
        var folded: [String: String] = [:]
        for (category, topic) in aliases { folded[Self.fold(category)] = Self.clean(topic) }
        self.aliases = folded
        entries = aliases.map { (Self.clean($0.key), Self.clean($0.value)) }.sorted { $0.category < $1.category }
    }

    public static func == (lhs: TopicAliases, rhs: TopicAliases) -> Bool { lhs.aliases == rhs.aliases }

    public var isEmpty: Bool { aliases.isEmpty }

    /// The topic a category (or a topic name stored earlier) stands for today.
    public func resolve(_ name: String) -> String {
        let cleaned = Self.clean(name)
        return aliases[Self.fold(cleaned)] ?? cleaned
    }

    /// A comparison's topics: both tools' categories, resolved.
    public func topics(of comparison: Comparison) -> Set<String> {
        Set(comparison.tools.compactMap(\.category).map(Self.clean).filter { !$0.isEmpty }.map(resolve))
    }

    /// White space collapsed and trimmed: how a category is kept.
    public static func clean(_ name: String) -> String {
        name.split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    /// Case and white space do not make another topic.
    static func fold(_ name: String) -> String { clean(name).lowercased() }
}

/// What a subscriber asked for: a set of topics, or (empty) everything, the default.
public struct TopicChoice: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    /// Sorted, resolved topic names; empty means everything.
    public private(set) var topics: [String]

    public init(_ topics: some Sequence<String>) {
        self.topics = Array(Set(topics.map(TopicAliases.clean).filter { !$0.isEmpty })).sorted()
    }

    public static let everything = TopicChoice([])

    public var isEverything: Bool { topics.isEmpty }

    /// The same choice under today's aliases (a stored choice of a since-renamed topic follows it).
    public func resolved(_ aliases: TopicAliases) -> TopicChoice { TopicChoice(topics.map(aliases.resolve)) }

    /// Whether a comparison with these topics belongs in this choice's issue.
    public func admits(_ comparisonTopics: Set<String>) -> Bool {
        isEverything || !comparisonTopics.isDisjoint(with: topics)
    }

    /// A short, stable name for the variant of this choice: a directory name and a URL segment.
    public var variantID: String {
        if isEverything { return "everything" }
        let digest = SHA256.hash(data: Data(topics.joined(separator: "\n").utf8))
        return "t" + Hex.encode(digest).prefix(10)
    }

    public var description: String { isEverything ? "everything" : topics.joined(separator: ", ") }

    public static func < (lhs: TopicChoice, rhs: TopicChoice) -> Bool {
        if lhs.topics.count != rhs.topics.count { return lhs.topics.count < rhs.topics.count }
        return lhs.topics.lexicographicallyPrecedes(rhs.topics)
    }

    public init(from decoder: any Decoder) throws {
        self.init(try decoder.singleValueContainer().decode([String].self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(topics)
    }
}

extension TopicChoice {
    /// How many readers have each choice, from the stored choices of those who made one:
    /// every other reader (of `readers`, who get issues) gets everything. Both stores count so.
    public static func readerCounts(readers: Int, choices: [[String]]) -> [TopicChoice: Int] {
        var counts: [TopicChoice: Int] = [:]
        for topics in choices { counts[TopicChoice(topics), default: 0] += 1 }
        if readers > choices.count { counts[.everything, default: 0] += readers - choices.count }
        return counts
    }
}

/// A topic as `topics list` shows it.
public struct TopicCount: Sendable, Equatable, Codable {
    public var topic: String
    /// Comparisons ever stored with this topic (merged categories counted once per comparison).
    public var comparisons: Int
    /// The page categories behind it (more than one when an alias merges them).
    public var categories: [String]
}

/// A topic name a form or a file gave that is not one of the store's topics.
public struct UnknownTopic: Error, Equatable, CustomStringConvertible {
    public var topic: String
    public var known: [String]

    public var description: String {
        "\"\(topic)\" is not a topic"
            + (known.isEmpty ? " (no topics are known yet)" : "; the topics are: \(known.joined(separator: ", "))")
    }
}

/// The topics pages have given, for checking and offering choices.
public struct TopicCatalog: Sendable, Equatable {
    /// Resolved, sorted.
    public var topics: [String]

    public init(categories: some Sequence<String>, aliases: TopicAliases) {
        topics = Array(Set(categories.map(TopicAliases.clean).filter { !$0.isEmpty }.map(aliases.resolve))).sorted()
    }

    /// The choice named by `names` (page categories or topic names, any case), each checked.
    public func choice(_ names: [String], aliases: TopicAliases) throws(UnknownTopic) -> TopicChoice {
        var chosen: [String] = []
        for name in names {
            let cleaned = TopicAliases.clean(name)
            if cleaned.isEmpty { continue }
            let resolved = aliases.resolve(cleaned)
            guard let match = topics.first(where: { TopicAliases.fold($0) == TopicAliases.fold(resolved) }) else {
                throw UnknownTopic(topic: cleaned, known: topics)
            }
            chosen.append(match)
        }
        return TopicChoice(chosen)
    }
}

/// What topics need from the store: the categories pages gave, and who chose which.
public protocol TopicStore: Sendable {
    /// Every (category, comparison) pair ever stored, as pages gave the category.
    func categoryUses() async throws -> [(category: String, comparisonID: Int64)]
    /// The distinct categories of stored comparisons.
    func categories() async throws -> [String]
    /// A subscriber's stored choice (as stored: resolve it with today's aliases).
    func topicChoice(subscriberID: Int64) async throws -> TopicChoice
    /// Replaces a subscriber's choice and records it in the consent trail.
    func setTopicChoice(_ choice: TopicChoice, subscriberID: Int64, client: ClientInfo, at time: Date) async throws
    /// How many subscribers who get issues (confirmed, not paused) have each stored choice.
    func readerChoices() async throws -> [TopicChoice: Int]
}

extension TopicStore {
    /// `topics list`: each topic under today's aliases, with how many comparisons have had it.
    public func topicCounts(aliases: TopicAliases) async throws -> [TopicCount] {
        var comparisons: [String: Set<Int64>] = [:]
        var categories: [String: Set<String>] = [:]
        for use in try await categoryUses() {
            let topic = aliases.resolve(use.category)
            comparisons[topic, default: []].insert(use.comparisonID)
            categories[topic, default: []].insert(TopicAliases.clean(use.category))
        }
        return comparisons.keys.sorted().map {
            TopicCount(topic: $0, comparisons: comparisons[$0]!.count, categories: categories[$0]!.sorted())
        }
    }

    public func topicCatalog(aliases: TopicAliases) async throws -> TopicCatalog {
        TopicCatalog(categories: try await categories(), aliases: aliases)
    }

    /// Readers by choice under today's aliases (two stored choices may now be one).
    public func resolvedReaderChoices(aliases: TopicAliases) async throws -> [TopicChoice: Int] {
        var resolved: [TopicChoice: Int] = [:]
        for (choice, count) in try await readerChoices() { resolved[choice.resolved(aliases), default: 0] += count }
        return resolved
    }
}
