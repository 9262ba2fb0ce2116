import Crypto
import Foundation

/// Builds a week's draft (selection, summaries, HTML and text), freezes it in the store and
/// writes `outbox/<week>/preview.html`, `preview.txt` and `issue.json`.
///
/// Building the same week from the same store and templates gives the same bytes, so an
/// approval stays valid across previews; a draft that would differ from an approved one is
/// refused unless `rebuild` drops the approval.
public struct IssuePreview<Store: IssueStore & ComparisonStore & TopicStore & ClickStore>: Sendable {
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

    public func preview(_ week: IssueWeek, force: Bool = false, rebuild: Bool = false) async throws -> Result {
        try await build(week, force: force, rebuild: rebuild, check: nil)
    }

    /// Builds the week's draft again from what is stored, asking no model: the editors' texts,
    /// the summaries an earlier preview made, and the no-model summary where that is what the
    /// draft already carried (or the chain has no model). The editor page's Rebuild.
    ///
    /// It rebuilds the draft the editor is looking at, so the week's selection must not have
    /// changed, and a comparison whose generated summary is not stored (a model would have to
    /// write it) is refused before anything is written. An approval stays only if the bytes are
    /// the same; otherwise it is dropped, and the week waits for a new one.
    public func rebuildFromStoredSummaries(_ week: IssueWeek) async throws -> Result {
        guard let existing = try await store.issue(week), existing.draftHash != nil else {
            throw DraftRebuildError.noDraft(week)
        }
        if existing.status == .sent { throw PreviewError.alreadySent(week) }
        let shippedWithoutModel = Self.comparisonsSummarizedWithoutModel(existing.manifest)
        let chainHasModels = !summarizer.providers.isEmpty
        var storedOnly = self
        storedOnly.summarizer = summarizer.askingNoModel()
        storedOnly.summaryObserver = nil
        return try await storedOnly.build(week, force: true, rebuild: true) { selection, outcomes in
            let now = selection.selected.map(\.id)
            guard now == existing.comparisonIDs else {
                throw DraftRebuildError.selectionChanged(week, draft: existing.comparisonIDs, now: now)
            }
            for (stored, outcome) in zip(selection.selected, outcomes) where !outcome.fromCache {
                // Not stored: only the no-model summary could be made here. It is the generated
                // one when the chain has no model; otherwise only where the draft shipped it too.
                if !chainHasModels || shippedWithoutModel.contains(stored.id) { continue }
                throw DraftRebuildError.summaryNotStored(
                    week, comparisonID: stored.id, title: stored.comparison.title)
            }
        }
    }

    /// The comparisons whose summary in a draft's `issue.json` is the deterministic one.
    static func comparisonsSummarizedWithoutModel(_ manifest: String?) -> Set<Int64> {
        guard let data = manifest?.data(using: .utf8),
            let decoded = try? JSONDecoder().decode(ManifestSummaries.self, from: data)
        else { return [] }
        return Set(decoded.comparisons.filter { $0.summary.provider == ExtractiveSummarizer.provider }.map(\.id))
    }

    private func build(
        _ week: IssueWeek, force: Bool, rebuild: Bool,
        check: ((WeekSelection, [SummaryOutcome]) throws -> Void)?
    ) async throws -> Result {
        let existing = try await store.issue(week)
        if existing?.status == .sent { throw PreviewError.alreadySent(week) }
        guard try await !store.listComparisons().isEmpty else { throw PreviewError.emptyStore }

        let selection = try await WeekSelector.select(
            week, from: store, timeZone: settings.timeZone, policy: settings.policy)
        if selection.selected.count < settings.policy.minComparisons && !force {
            let reason =
                "\(selection.selected.count) new comparison(s) published in \(week), fewer than the minimum of \(settings.policy.minComparisons)"
            if existing?.approvedHash == nil { try await store.recordSkipped(week, reason: reason) }
            throw PreviewError.tooFewComparisons(week, found: selection.selected.count, reason: reason)
        }
        if selection.selected.isEmpty { throw PreviewError.nothingToBuild(week) }

        // One distinct topic choice among the readers, one variant: refused before any summary
        // is made when there would be more than the editor allows.
        let readers = try await store.resolvedReaderChoices(aliases: settings.topics)
        let choices = VariantPlanner.choices(readers: readers)
        if choices.count > settings.maxVariants {
            throw PreviewError.tooManyVariants(
                week, variants: choices.count, maximum: settings.maxVariants,
                readers: readers.values.reduce(0, +))
        }

        // Each comparison is summarized once, whatever the number of variants it appears in.
        var outcomes: [SummaryOutcome] = []
        for comparison in selection.selected {
            outcomes.append(try await summarizer.summarize(comparison, week: week, observer: summaryObserver))
        }
        try check?(selection, outcomes)
        let items = zip(selection.selected, outcomes).map { IssueItem(stored: $0, summary: $1.summary) }
        // Every link becomes a tracked one before the hash is taken: what is approved is what is sent.
        var links = LinkRewriter(
            mode: settings.clicks, publicURL: settings.publicURL, week: week,
            stored: try await store.trackedLinks(week))
        let viewKey = existing?.variants?.viewKey ?? TrackedLink.newID()
        var variants = VariantPlanner.build(items: items, aliases: settings.topics, readers: readers) {
            variant, chosen in
            var content = IssueContent(week: week, items: chosen, settings: settings)
            content.viewURL = ArchivePages.viewURL(publicURL: settings.publicURL, week: week, key: viewKey)
            let context = content.context()
            let comparisons = Dictionary(
                chosen.compactMap { item in
                    item.stored.comparison.url.flatMap(IssueContent.linkableURL).map { ($0, item.stored.id) }
                }, uniquingKeysWith: { first, _ in first })
            let (html, text) = links.rewrite(
                html: templates.render(context, template: "issue.html"),
                text: templates.render(context, template: "issue.txt"), variant: variant, comparisons: comparisons)
            return (content.subject, html, text)
        }
        variants.viewKey = viewKey
        // The everything-variant is the issue as a whole: the draft's own subject, HTML and text.
        let whole = variants.everything!
        let (subject, html, text) = (whole.subject!, whole.html!, whole.text!)
        let hash = variants.draftHash
        if let approved = existing?.approvedHash, approved != hash, !rebuild {
            throw PreviewError.approvedDraftWouldChange(week, approved: approved, new: hash)
        }
        var draft = IssueDraft(
            week: week, subject: subject, html: html, text: text,
            manifest: try manifest(
                selection: selection, items: items, subject: subject, hash: hash, variants: variants),
            comparisonIDs: items.map(\.stored.id), hash: hash)
        draft.variants = variants
        draft.links = links.links

        // Stage the files, commit the store, then rename the files into place: if the store
        // fails, the outbox still shows the draft the store holds.
        let staged = try stageOutbox(draft)
        do {
            try await store.saveDraft(draft)
        } catch {
            staged.discard()
            throw error
        }
        let files = try staged.commit()
        removeStaleVariants(week, keeping: Set(draft.variants?.variants.filter { !$0.isEmpty }.map(\.id) ?? []))
        return Result(
            draft: draft, selection: selection, items: items, stillApproved: existing?.approvedHash == hash,
            files: files, summaryOutcomes: outcomes)
    }

    static func hash(subject: String, html: String, text: String) -> String {
        DraftHash.of(subject: subject, html: html, text: text)
    }

    private func manifest(
        selection: WeekSelection, items: [IssueItem], subject: String, hash: String, variants: FrozenVariants
    ) throws -> String {
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
            }, alreadyFeatured: selection.alreadyFeatured, leftOut: selection.leftOut,
            variants: variants.variants.map {
                IssueManifest.Variant(
                    id: $0.id, topics: $0.choice.topics, readers: $0.readers, comparisons: $0.comparisonIDs,
                    hash: $0.hash, skipped: $0.isEmpty ? VariantAssignment.noComparisonReason : nil)
            })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return String(decoding: try encoder.encode(value), as: UTF8.self) + "\n"
    }

    /// A variant directory of an earlier draft that this one no longer has would show an email
    /// nobody can be sent.
    private func removeStaleVariants(_ week: IssueWeek, keeping: Set<String>) {
        let folder = URL(fileURLWithPath: outboxDirectory).appendingPathComponent("\(week)/variants")
        let present = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        for name in present where !keeping.contains(name) && !name.hasPrefix(".") {
            try? FileManager.default.removeItem(at: folder.appendingPathComponent(name))
        }
    }

    /// Writes every file under a temporary name beside its final one.
    private func stageOutbox(_ draft: IssueDraft) throws -> StagedFiles {
        let directory = URL(fileURLWithPath: outboxDirectory).appendingPathComponent(draft.week.description)
        var outputs: [(String, String)] = [
            ("preview.html", sample.fill(draft.html, html: true)),
            ("preview.txt", sample.fill(draft.text, html: false)),
            ("issue.json", draft.manifest),
        ]
        // With readers' topics in play, every variant that has comparisons, under variants/<id>/
        // (the top-level files stay the everything-variant's, as before topics).
        let variants = draft.variants?.variants ?? []
        for variant in variants where variants.count > 1 {
            guard let html = variant.html, let text = variant.text else { continue }
            outputs.append(("variants/\(variant.id)/preview.html", sample.fill(html, html: true)))
            outputs.append(("variants/\(variant.id)/preview.txt", sample.fill(text, html: false)))
        }
        var staged = StagedFiles(directory: directory.path)
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            for (name, contents) in outputs {
                let final = directory.appendingPathComponent(name)
                let folder = final.deletingLastPathComponent()
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                let temporary = folder.appendingPathComponent(".\(final.lastPathComponent).\(UUID().uuidString).tmp")
                // Registered before writing, so a write cut short by a full disk is removed too.
                staged.files.append((temporary.path, final.path))
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
    case tooManyVariants(IssueWeek, variants: Int, maximum: Int, readers: Int)

    public var description: String {
        switch self {
        case .emptyStore:
            "the store holds no comparisons yet; run `newsletter ingest SOURCE…` first"
        case .tooFewComparisons(let week, _, let reason):
            "\(week) skipped: \(reason). `--force` builds it anyway."
        case .nothingToBuild(let week):
            "\(week) has no comparisons published in it that an earlier issue has not featured; nothing to build"
        case .approvedDraftWouldChange(let week, let approved, let new):
            "\(week) is approved (\(approved.prefix(12))), and its draft would now change (\(new.prefix(12))): new pages, edited templates or a topic choice no approved variant has. Left as it is, the approved variants go out (a new choice gets the approved variant with the same comparisons, or its readers are skipped); `--rebuild` builds it again and drops the approval."
        case .alreadySent(let week):
            "\(week) was already sent; its issue can no longer change"
        case .outboxUnwritable(let path, let reason):
            "could not write the preview to \(path): \(reason)"
        case .tooManyVariants(let week, let variants, let maximum, let readers):
            "\(week) would need \(variants) variants (the whole issue and one per distinct topic choice of its \(readers) readers), more than issue.max_variants = \(maximum); nothing was built. Raise issue.max_variants or merge topics with [topics.aliases]."
        }
    }
}

/// The part of `issue.json` a rebuild reads back: each comparison's summary.
private struct ManifestSummaries: Decodable {
    struct Item: Decodable {
        var id: Int64
        var summary: PanelSummary
    }
    var comparisons: [Item]
}

/// Why the draft could not be built again from what is stored.
public enum DraftRebuildError: Error, Equatable, CustomStringConvertible {
    case noDraft(IssueWeek)
    case selectionChanged(IssueWeek, draft: [Int64], now: [Int64])
    case summaryNotStored(IssueWeek, comparisonID: Int64, title: String)

    public var description: String {
        switch self {
        case .noDraft(let week):
            "\(week) has no draft to rebuild"
        case .selectionChanged(let week, let draft, let now):
            "the comparisons of \(week) changed since its draft was built (draft: \(Self.list(draft)); now: \(Self.list(now))); new ones need summaries from the model"
        case .summaryNotStored(let week, let id, let title):
            "no generated summary of #\(id) \(title) is stored for \(week); a model would have to write it"
        }
    }

    private static func list(_ ids: [Int64]) -> String {
        ids.isEmpty ? "none" : ids.map { "#\($0)" }.joined(separator: ", ")
    }
}

extension SummaryChain {
    /// The same chain reading only what is stored: each provider keeps its name, model and kind,
    /// so the stored summaries are found under the same keys, but none is ever asked.
    public func askingNoModel() -> SummaryChain {
        var chain = self
        chain.providers = providers.map {
            StoredSummariesOnly(name: $0.name, model: $0.model, kind: $0.kind) as any SummaryProvider
        }
        return chain
    }
}

/// Stands in for a provider when only stored summaries may be used.
struct StoredSummariesOnly: SummaryProvider {
    var name: String
    var model: String
    var kind: SummaryKind

    func instructions(for comparison: Comparison, attempt: SummaryAttempt) -> String { "" }

    func summarize(_ comparison: Comparison, attempt: SummaryAttempt) throws(SummaryProviderError) -> ModelReply {
        throw .unavailable("only stored summaries are used when the draft is rebuilt from the editor page")
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
    struct Variant: Encodable {
        var id: String
        var topics: [String]
        var readers: Int
        var comparisons: [Int64]
        var hash: String?
        var skipped: String?
    }
    var variants: [Variant]
}
