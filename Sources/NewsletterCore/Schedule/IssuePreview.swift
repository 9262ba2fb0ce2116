import Crypto
import Foundation

/// Builds a week's draft (selection, summaries, HTML and text), freezes it in the store and
/// writes `outbox/<week>/preview.html`, `preview.txt` and `issue.json`.
///
/// Building the same week from the same store and templates gives the same bytes, so an
/// approval stays valid across previews; a draft that would differ from an approved one is
/// refused unless `rebuild` drops the approval.
public struct IssuePreview<Store: IssueStore & ComparisonStore>: Sendable {
    public var store: Store
    public var templates: TemplateSet
    public var settings: IssueSettings
    public var outboxDirectory: String
    /// Summarizes each selected comparison; without a model, the deterministic extractive summary.
    public var summarizer: SummaryChain
    /// Hears what the summarizer does (a progress bar, log lines).
    public var summaryObserver: (@Sendable (SummaryEvent) -> Void)?

    public init(
        store: Store, templates: TemplateSet, settings: IssueSettings, outboxDirectory: String,
        summarizer: SummaryChain = .deterministic, summaryObserver: (@Sendable (SummaryEvent) -> Void)? = nil
    ) {
        self.store = store
        self.templates = templates
        self.settings = settings
        self.outboxDirectory = outboxDirectory
        self.summarizer = summarizer
        self.summaryObserver = summaryObserver
    }

    public struct Result: Sendable {
        public var draft: IssueDraft
        public var selection: WeekSelection
        public var items: [IssueItem]
        /// The draft is exactly what was approved before, so the approval stands.
        public var stillApproved: Bool
        public var files: [String]
        /// How each summary was made: attempts, guard rejections, providers that could not serve.
        public var summaryOutcomes: [SummaryOutcome]
    }

    /// The sample subscriber the preview is filled for.
    public var sample: Personalization {
        Personalization(
            name: "Sam Sample", unsubscribeURL: "\(settings.publicURL)/unsubscribe/SAMPLE-TOKEN",
            preferencesURL: "\(settings.publicURL)/preferences/SAMPLE-TOKEN")
    }

    public func preview(_ week: IssueWeek, force: Bool = false, rebuild: Bool = false) throws -> Result {
        let existing = try store.issue(week)
        if existing?.status == .sent { throw PreviewError.alreadySent(week) }
        guard try !store.listComparisons().isEmpty else { throw PreviewError.emptyStore }

        let selection = try WeekSelector.select(week, from: store, timeZone: settings.timeZone, policy: settings.policy)
        if selection.selected.count < settings.policy.minComparisons && !force {
            let reason =
                "\(selection.selected.count) new comparison(s) published in \(week), fewer than the minimum of \(settings.policy.minComparisons)"
            if existing?.approvedHash == nil { try store.recordSkipped(week, reason: reason) }
            throw PreviewError.tooFewComparisons(week, found: selection.selected.count, reason: reason)
        }
        if selection.selected.isEmpty { throw PreviewError.nothingToBuild(week) }

        let outcomes = selection.selected.map { summarizer.summarize($0, week: week, observer: summaryObserver) }
        let items = zip(selection.selected, outcomes).map { IssueItem(stored: $0, summary: $1.summary) }
        let content = IssueContent(week: week, items: items, settings: settings)
        let context = content.context()
        let html = templates.render(context, template: "issue.html")
        let text = templates.render(context, template: "issue.txt")
        let hash = Self.hash(subject: content.subject, html: html, text: text)
        if let approved = existing?.approvedHash, approved != hash, !rebuild {
            throw PreviewError.approvedDraftWouldChange(week, approved: approved, new: hash)
        }
        let draft = IssueDraft(
            week: week, subject: content.subject, html: html, text: text,
            manifest: try manifest(selection: selection, items: items, subject: content.subject, hash: hash),
            comparisonIDs: items.map(\.stored.id), hash: hash)

        // Stage the files, commit the store, then rename the files into place: if the store
        // fails, the outbox still shows the draft the store holds.
        let staged = try stageOutbox(draft)
        do {
            try store.saveDraft(draft)
        } catch {
            staged.discard()
            throw error
        }
        let files = try staged.commit()
        return Result(
            draft: draft, selection: selection, items: items, stillApproved: existing?.approvedHash == hash,
            files: files, summaryOutcomes: outcomes)
    }

    static func hash(subject: String, html: String, text: String) -> String {
        var hasher = SHA256()
        for part in [subject, html, text] {
            hasher.update(data: Data(part.utf8))
            hasher.update(data: Data([0]))
        }
        return Hex.encode(hasher.finalize())
    }

    private func manifest(selection: WeekSelection, items: [IssueItem], subject: String, hash: String) throws -> String
    {
        let value = IssueManifest(
            week: selection.week, timeZone: settings.timeZone.identifier, windowStart: selection.window.start,
            windowEnd: selection.window.end, subject: subject, hash: hash,
            ranking: "most divided panel first, then most takes, then earliest published",
            comparisons: items.map {
                IssueManifest.Item(
                    id: $0.stored.id, title: $0.stored.comparison.title, source: $0.stored.comparison.source,
                    url: $0.stored.comparison.url, published: $0.stored.comparison.published,
                    division: (WeekSelector.division($0.stored.comparison) * 1000).rounded() / 1000,
                    takes: $0.stored.comparison.takes.count, summary: $0.summary)
            }, alreadyFeatured: selection.alreadyFeatured, leftOut: selection.leftOut)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return String(decoding: try encoder.encode(value), as: UTF8.self) + "\n"
    }

    /// Writes every file under a temporary name beside its final one.
    private func stageOutbox(_ draft: IssueDraft) throws -> StagedFiles {
        let directory = URL(fileURLWithPath: outboxDirectory).appendingPathComponent(draft.week.description)
        let outputs: [(String, String)] = [
            ("preview.html", sample.fill(draft.html, html: true)),
            ("preview.txt", sample.fill(draft.text, html: false)),
            ("issue.json", draft.manifest),
        ]
        var staged = StagedFiles(directory: directory.path)
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            for (name, contents) in outputs {
                let temporary = directory.appendingPathComponent(".\(name).\(UUID().uuidString).tmp")
                // Registered before writing, so a write cut short by a full disk is removed too.
                staged.files.append((temporary.path, directory.appendingPathComponent(name).path))
                try Data(contents.utf8).write(to: temporary)
            }
        } catch {
            staged.discard()
            throw PreviewError.outboxUnwritable(directory.path, "\(error.localizedDescription)")
        }
        return staged
    }
}

/// Files written under temporary names, to be renamed into place or thrown away together.
struct StagedFiles {
    var directory: String
    var files: [(temporary: String, final: String)] = []

    func discard() {
        for file in files { try? FileManager.default.removeItem(atPath: file.temporary) }
    }

    func commit() throws -> [String] {
        for file in files where rename(file.temporary, file.final) != 0 {
            discard()
            throw PreviewError.outboxUnwritable(
                directory, "renaming \(file.temporary) into place failed (errno \(errno))")
        }
        return files.map(\.final)
    }
}

public enum PreviewError: Error, Equatable, CustomStringConvertible {
    case emptyStore
    case tooFewComparisons(IssueWeek, found: Int, reason: String)
    case nothingToBuild(IssueWeek)
    case approvedDraftWouldChange(IssueWeek, approved: String, new: String)
    case alreadySent(IssueWeek)
    case outboxUnwritable(String, String)

    public var description: String {
        switch self {
        case .emptyStore:
            "the store holds no comparisons yet; run `newsletter ingest SOURCE…` first"
        case .tooFewComparisons(let week, _, let reason):
            "\(week) skipped: \(reason). `--force` builds it anyway."
        case .nothingToBuild(let week):
            "\(week) has no comparisons published in it that an earlier issue has not featured; nothing to build"
        case .approvedDraftWouldChange(let week, let approved, let new):
            "\(week) is approved (\(approved.prefix(12))), and its draft would now change (\(new.prefix(12))): new pages or edited templates. `--rebuild` builds it again and drops the approval."
        case .alreadySent(let week):
            "\(week) was already sent; its issue can no longer change"
        case .outboxUnwritable(let path, let reason):
            "could not write the preview to \(path): \(reason)"
        }
    }
}

/// `issue.json`: what the draft holds and why.
struct IssueManifest: Encodable {
    struct Item: Encodable {
        var id: Int64
        var title: String
        var source: String
        var url: String?
        var published: Date
        var division: Double
        var takes: Int
        var summary: PanelSummary
    }
    var week: IssueWeek
    var timeZone: String
    var windowStart: Date
    var windowEnd: Date
    var subject: String
    var hash: String
    var ranking: String
    var comparisons: [Item]
    var alreadyFeatured: [Int64]
    var leftOut: [Int64]
}
