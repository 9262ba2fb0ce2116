import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import Testing

@testable import NewsletterCore

/// A week whose comparisons are in three topics and whose readers chose five different ways:
/// one frozen variant per choice, approved as a set, each reader sent exactly theirs (or
/// recorded skipped), once.
/// Hears who was skipped, as a progress bar would.
final class SkipObserver: DeliveryObserver {
    private let recorded = Mutex<[String]>([])
    var skips: [String] { recorded.withLock { $0 } }
    func started(total: Int) {}
    func delivered(_ email: String, outcome: SendOutcome) {}
    func skipped(_ email: String, reason: String) { recorded.withLock { $0.append(email) } }
}

@Suite(.serialized)
struct IssueVariantsTests {
    let directory: URL
    let store: AppDatabase
    let week = try! IssueWeek(parsing: "2026-W47")
    var settings = IssueSettings()

    /// Comparison titles by topic; "Data Derby" ranks first (the most divided panel).
    static let dev = "Devtool Duel"
    static let writing = "Writing Match"
    static let data = "Data Derby"

    init() throws {
        directory = try TestPaths.temporaryDirectory()
        store = try AppDatabase.open(path: directory.appendingPathComponent("data/newsletter.sqlite").path)
        settings.publicURL = "https://news.example.org"
    }

    func preview(_ settings: IssueSettings? = nil) throws -> IssuePreview<AppDatabase> {
        IssuePreview(
            store: store,
            templates: try TemplateSet.load(directory: TestPaths.repository.appendingPathComponent("templates").path),
            settings: settings ?? self.settings, outboxDirectory: directory.appendingPathComponent("outbox").path)
    }

    func comparison(_ title: String, _ categories: [String], published: String, split: [Int] = [100, 100])
        throws -> Comparison
    {
        var comparison = try StoreFixtures.comparison(title, published: published, shipPercents: split)
        for index in comparison.tools.indices { comparison.tools[index].category = categories[index] }
        return comparison
    }

    /// Three comparisons this week, one per topic, and "Audio" known from an older week.
    @discardableResult
    func seedWeek() async throws -> [String: Int64] {
        let ids = try await StoreFixtures.store(
            [
                comparison(Self.dev, ["Developer Tools", "Developer Tools"], published: "2026-11-17T10:00:00Z"),
                comparison(Self.writing, ["Writing", "Writing"], published: "2026-11-18T10:00:00Z"),
                comparison(
                    Self.data, ["Data & Analytics", "Data & Analytics"], published: "2026-11-19T10:00:00Z",
                    split: [50, 50]),
                comparison("Old Audio", ["Audio", "Audio"], published: "2026-11-03T10:00:00Z"),
            ], in: store)
        return [Self.dev: ids[0], Self.writing: ids[1], Self.data: ids[2]]
    }

    /// Five choices, two readers each, and a paused reader whose choice makes no variant.
    static let choices: [TopicChoice] = [
        .everything, TopicChoice(["Developer Tools"]), TopicChoice(["Writing", "Data & Analytics"]),
        TopicChoice(["Audio"]), TopicChoice(["Developer Tools", "Writing"]),
    ]

    /// What each choice's variant holds, in the selection's order.
    static let expectedTitles: [TopicChoice: [String]] = [
        choices[0]: [data, dev, writing], choices[1]: [dev], choices[2]: [data, writing], choices[3]: [],
        choices[4]: [dev, writing],
    ]

    @discardableResult
    func seedReaders() async throws -> [String: TopicChoice] {
        var readers: [String: TopicChoice] = [:]
        for (index, choice) in Self.choices.enumerated() {
            for copy in 0..<2 {
                let email = "reader\(index)-\(copy)@example.org"
                let subscriber = try await store.addSubscriber(
                    email: email, name: "Reader \(index)", status: .confirmed)
                try await store.setTopicChoice(choice, subscriberID: subscriber.id, client: .commandLine, at: Date())
                readers[email] = choice
            }
        }
        let paused = try await store.addSubscriber(email: "paused@example.org", name: nil, status: .confirmed)
        try await store.setTopicChoice(
            TopicChoice(["Writing"]), subscriberID: paused.id, client: .commandLine, at: Date())
        let token = try await store.newUnsubscribeToken(subscriberID: paused.id, at: Date())
        _ = try await store.updatePreferences(
            token: token, Preferences(name: nil, format: .html, paused: true), client: .commandLine, at: Date())
        return readers
    }

    func mailer() throws -> Mailer<AppDatabase> {
        var delivery = DeliverySettings(
            from: try MailAddress("digest@shiporskip.example"), listID: "weekly.shiporskip.example",
            publicURL: "https://news.example.org")
        delivery.retries = 0
        delivery.topics = settings.topics
        return Mailer(store: store, settings: delivery, logger: Logger(label: "tests"))
    }

    /// The featured titles a message holds.
    static func titles(in message: String) -> [String] {
        let text = MessageText.decoded(message)
        return [data, dev, writing].filter { text.contains($0) }
    }

    static func recipient(of dump: String) -> String? {
        dump.split(separator: "\n").first { $0.hasPrefix("X-Rcpt-Args:") }.map {
            $0.dropFirst("X-Rcpt-Args:".count).trimmingCharacters(in: .whitespaces)
                .replacingOccurrences(of: "TO:", with: "").replacingOccurrences(of: "<", with: "")
                .replacingOccurrences(of: ">", with: "")
        }
    }

    @Test func theDraftIsOneVariantPerChoiceWithReadersEachTheSelectionRestrictedInOrder() async throws {
        let ids = try await seedWeek()
        try await seedReaders()
        let result = try await preview().preview(week)
        let frozen = try #require(result.draft.variants)
        // The paused reader's {Writing} has no readers who get issues: no variant for it.
        #expect(frozen.variants.map(\.choice) == Self.choices.sorted())
        #expect(frozen.variants.first?.choice == .everything)
        for variant in frozen.variants {
            let titles = (Self.expectedTitles[variant.choice] ?? ["?"]).map { ids[$0]! }
            #expect(variant.comparisonIDs == titles, "variant \(variant.choice)")
            #expect(variant.readers == 2, "variant \(variant.choice)")
            #expect(variant.isEmpty == (variant.html == nil))
        }
        // The whole issue is the everything-variant, and the hash covers every variant.
        let everything = try #require(frozen.everything)
        #expect(result.draft.html == everything.html && result.draft.subject == everything.subject)
        #expect(result.draft.hash != everything.hash)
        #expect(result.draft.hash == frozen.draftHash)
        // Each comparison was summarized once, whatever the number of variants it is in.
        #expect(result.summaryOutcomes.count == 3)

        let outbox = directory.appendingPathComponent("outbox/\(week)")
        for variant in frozen.variants {
            let file = outbox.appendingPathComponent("variants/\(variant.id)/preview.html")
            #expect(FileManager.default.fileExists(atPath: file.path) == !variant.isEmpty, "\(variant.id)")
        }
        #expect(FileManager.default.fileExists(atPath: outbox.appendingPathComponent("preview.html").path))
        let stored = try await #require(try store.issue(week))
        #expect(stored.variants == frozen)
        // The same readers and pages: the same bytes, so an approval stands.
        try await store.approve(week, hash: result.draft.hash, at: Date())
        await #expect(try preview().preview(week).stillApproved)
    }

    @Test(.enabled(if: SMTPSink.available, "smtp-sink (Debian postfix) is not installed"))
    func eachSubscriberGetsExactlyTheirVariantOrIsRecordedSkippedOnce() async throws {
        try await seedWeek()
        let readers = try await seedReaders()
        let draft = try await preview().preview(week).draft
        try await store.approve(week, hash: draft.hash, at: Date())
        let sink = try SMTPSink()
        let transport = SMTPTransport(settings: SMTPTransport.Settings(url: sink.url, allowPlaintext: true))
        let observer = SkipObserver()
        let summary = try await mailer().send(week, through: transport, observer: observer)
        #expect(summary.complete)
        #expect(summary.sent == 8 && summary.skipped == 2 && summary.failed == 0)
        #expect(observer.skips.sorted() == ["reader3-0@example.org", "reader3-1@example.org"])

        let dumps = try sink.messages()
        var received: [String: [[String]]] = [:]
        for dump in dumps { received[Self.recipient(of: dump) ?? "?", default: []].append(Self.titles(in: dump)) }
        for (email, choice) in readers {
            let expected = Self.expectedTitles[choice]!
            if expected.isEmpty {
                #expect(received[email] == nil, "\(email) has no comparison in their topics")
            } else {
                #expect(received[email] == [expected.sorted()], "\(email) (\(choice))")
            }
        }
        #expect(received["paused@example.org"] == nil)
        let skipped = try await store.deliveryReplies(week, state: .skipped)
        #expect(Set(skipped.map(\.email)) == ["reader3-0@example.org", "reader3-1@example.org"])
        #expect(skipped.allSatisfy { $0.reply == "no comparison in your topics" })
        // Every copy is one of the approved variants' bytes, personalised.
        #expect(dumps.allSatisfy { !$0.contains("%%") })

        // A second send sends nothing and skips nobody again.
        let again = try await mailer().send(week, through: transport)
        #expect(again.sent == 0 && again.complete)
        #expect(try sink.messages().count == 8)
        await #expect(try store.deliveryCounts(week) == [.sent: 8, .skipped: 2])
    }

    @Test(.enabled(if: SMTPSink.available, "smtp-sink (Debian postfix) is not installed"))
    func aTopicChangeAfterApprovalMovesToAFrozenVariantOrToSkippedNeverANewEmail() async throws {
        try await seedWeek()
        try await seedReaders()
        let draft = try await preview().preview(week).draft
        try await store.approve(week, hash: draft.hash, at: Date())
        func change(_ email: String, to topics: [String]) async throws {
            let subscriber = try await #require(try store.subscriber(email: email))
            try await store.setTopicChoice(
                TopicChoice(topics), subscriberID: subscriber.id, client: .commandLine, at: Date())
        }
        // {Writing, Data, Audio} selects exactly what the frozen {Writing, Data} variant holds.
        try await change("reader2-0@example.org", to: ["Writing", "Data & Analytics", "Audio"])
        // {Developer Tools, Data} would select Data Derby and Devtool Duel: no variant has exactly those.
        try await change("reader1-0@example.org", to: ["Developer Tools", "Data & Analytics"])
        // Back to everything.
        try await change("reader3-0@example.org", to: [])
        let sink = try SMTPSink()
        let transport = SMTPTransport(settings: SMTPTransport.Settings(url: sink.url, allowPlaintext: true))
        _ = try await mailer().send(week, through: transport)
        var received: [String: [[String]]] = [:]
        for dump in try sink.messages() {
            received[Self.recipient(of: dump) ?? "?", default: []].append(Self.titles(in: dump))
        }
        #expect(received["reader2-0@example.org"] == [[Self.data, Self.writing]])
        #expect(received["reader1-0@example.org"] == nil)
        #expect(received["reader3-0@example.org"] == [[Self.data, Self.dev, Self.writing]])
        let skipped = Dictionary(
            try await store.deliveryReplies(week, state: .skipped).map { ($0.email, $0.reply) },
            uniquingKeysWith: { $1 })
        #expect(skipped["reader1-0@example.org"] == VariantAssignment.noApprovedVariantReason)
        #expect(skipped["reader3-1@example.org"] == VariantAssignment.noComparisonReason)
        #expect(skipped["reader3-0@example.org"] == nil)
        // The approval still covers exactly what was sent.
        await #expect(try store.issue(week)?.approvedHash == draft.hash)
    }

    @Test func moreVariantsThanTheMaximumAreRefusedAtPreviewWithTheCounts() async throws {
        try await seedWeek()
        try await seedReaders()
        var strict = settings
        strict.maxVariants = 4
        await #expect(throws: PreviewError.tooManyVariants(week, variants: 5, maximum: 4, readers: 10)) {
            try await preview(strict).preview(week)
        }
        await #expect(try store.issue(week) == nil)
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("outbox/\(week)").path))
        let message = PreviewError.tooManyVariants(week, variants: 5, maximum: 4, readers: 10).description
        #expect(message.contains("5 variants") && message.contains("issue.max_variants = 4"))
    }

    @Test func withoutTopicChoicesTheDraftIsTheSingleIssueAsBefore() async throws {
        try await seedWeek()
        _ = try await store.addSubscriber(email: "all@example.org", name: nil, status: .confirmed)
        let result = try await preview().preview(week)
        #expect(result.draft.variants?.variants.count == 1)
        #expect(
            result.draft.hash
                == IssuePreview<AppDatabase>.hash(
                    subject: result.draft.subject, html: result.draft.html, text: result.draft.text))
        #expect(
            !FileManager.default.fileExists(atPath: directory.appendingPathComponent("outbox/\(week)/variants").path))
    }

    @Test func aliasesMergeChoicesAndTheComparisonsTopicsInOnePlace() async throws {
        try await seedWeek()
        try await seedReaders()
        var merged = settings
        // Writing and Data become one topic: {Writing, Data} and a reader's old {Writing} are one choice.
        merged.topics = TopicAliases(["Writing": "Words & Data", "Data & Analytics": "Words & Data"])
        let frozen = try await #require(try preview(merged).preview(week).draft.variants)
        let wordsAndData = try #require(frozen.variants.first { $0.choice == TopicChoice(["Words & Data"]) })
        #expect(wordsAndData.readers == 2)
        #expect(wordsAndData.comparisonIDs.count == 2)
        #expect(frozen.variants.count == 5)
        #expect(frozen.variants.contains { $0.choice == TopicChoice(["Developer Tools", "Words & Data"]) })
    }

    @Test func theEditorPageShowsTheVariantsSideBySideWithTheirReaders() async throws {
        try await seedWeek()
        try await seedReaders()
        let draft = try await preview().preview(week).draft
        let router = Router(context: EndpointRequestContext.self)
        EditorRoutes(
            store: store,
            pages: PageRenderer(
                templates: try TemplateSet.load(
                    directory: TestPaths.repository.appendingPathComponent("templates").path),
                settings: settings),
            token: "t0ken", metrics: EndpointMetrics(), delivery: nil, transport: nil, logger: Logger(label: "tests")
        ).register(on: router)
        let body = try await Application(router: router).test(.router) { client in
            try await client.execute(
                uri: "/editor/issues/\(week)", method: .get, headers: [.authorization: "Bearer t0ken"]
            ) { String(buffer: $0.body) }
        }
        let frozen = try #require(draft.variants)
        for variant in frozen.variants {
            #expect(body.contains("<td><code>\(variant.id)</code></td>"), "\(variant.id)")
            #expect(body.contains("title=\"Variant \(variant.id) at 375 pixels\"") == !variant.isEmpty, "\(variant.id)")
        }
        #expect(body.contains("<td>Data &amp; Analytics, Writing</td><td>2</td>"))
        #expect(body.contains("not sent: no comparison in your topics"))
    }
}
