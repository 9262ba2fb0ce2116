import Foundation

/// Where the public archive reads sent issues from.
public protocol ArchiveStore: Sendable {
    /// Every sent issue, newest week first (hidden ones included: see `IssueRecord.hiddenFromArchive`).
    func sentIssues() async throws -> [IssueRecord]
    /// The week's sent issue (hidden or not), nil when the week has none: one issue page reads one row.
    func sentIssue(_ week: IssueWeek) async throws -> IssueRecord?
    /// Hides (or shows again) a sent issue; false when the week has no sent issue.
    func setHiddenFromArchive(_ week: IssueWeek, hidden: Bool) async throws -> Bool
}

extension ArchiveStore where Self: IssueStore {
    public func sentIssue(_ week: IssueWeek) async throws -> IssueRecord? {
        try await issue(week).flatMap { $0.status == IssueLifecycle.archivedStatus ? $0 : nil }
    }
}

/// The public archive of sent issues: a list, one page per issue as sent (with neutral text
/// where each subscriber had their own) and an Atom feed. `serve` answers these at `/archive`;
/// `archive build` writes the same bytes as files.
public struct ArchivePages: Sendable {
    public var templates: TemplateSet
    public var settings: IssueSettings

    public static let templateNames = ["pages/archive.html"]

    public init(templates: TemplateSet, settings: IssueSettings) {
        self.templates = templates
        self.settings = settings
    }

    /// The issues the archive shows: sent, not hidden, newest first. A draft, an approved issue
    /// not yet sent, or a variant nobody received never appears: only the whole sent issue does.
    public static func published(_ issues: [IssueRecord]) -> [IssueRecord] {
        issues.filter { $0.status == .sent && !$0.hiddenFromArchive && $0.html != nil }
            .sorted { $0.week.description > $1.week.description }
    }

    var archiveURL: String { "\(settings.publicURL)/archive" }
    /// "View in the browser" in every email: `/archive/WEEK` while the archive shows the issue,
    /// the issue alone when it hides it (`ArchiveRoutes`), so the link made at freeze never breaks.
    static func viewURL(publicURL: String, week: IssueWeek, key: String) -> String {
        "\(publicURL)/archive/\(week)/view/\(key)"
    }
    func issueURL(_ week: IssueWeek) -> String { "\(archiveURL)/\(week)" }
    var feedURL: String { "\(archiveURL)/feed.xml" }
    var signupURL: String { "\(settings.publicURL)/" }

    /// `/archive`: the list, newest first.
    public func index(_ issues: [IssueRecord]) -> String {
        let entries: [[String: Any]] = Self.published(issues).map { issue in
            [
                "week": issue.week.description, "url": issueURL(issue.week),
                "subject": Personalization.defuse(issue.subject ?? "\(issue.week)"),
                "sentOn": issue.sentAt.map(Self.day) ?? "",
                "titles": Self.titles(issue).map(Personalization.defuse),
            ]
        }
        return templates.render(
            [
                "lang": settings.language, "listName": settings.listName, "title": "Past issues",
                "indexable": true, "issues": entries, "hasIssues": !entries.isEmpty, "feedURL": feedURL,
                "signupURL": signupURL,
            ], template: "pages/archive.html")
    }

    /// `/archive/WEEK`: the issue as it was sent, the per-subscriber parts neutral: no greeting,
    /// a signup link where the unsubscribe link was and a link to the archive where the
    /// preferences were. Nil for a week that is not published.
    public func issuePage(_ week: IssueWeek, in issues: [IssueRecord]) -> String? {
        issues.first { $0.week == week }.flatMap { issuePage($0) }
    }

    /// The page of one issue, nil when it is not published (not sent, or hidden).
    public func issuePage(_ issue: IssueRecord) -> String? {
        guard !Self.published([issue]).isEmpty else { return nil }
        return issuePage(alone: issue)
    }

    /// A sent issue's page whether the archive shows it or not, for the readers who hold its
    /// "View in the browser" link: the same neutral text, no personal link. Nil when not sent.
    public func issuePage(alone issue: IssueRecord) -> String? {
        guard issue.status == .sent, let html = issue.html else { return nil }
        let sent = issue.sentAt.map { " on \(Self.day($0))" } ?? ""
        let neutral = Personalization(
            name: nil, unsubscribeURL: signupURL, preferencesURL: archiveURL,
            greetingOverride: "From the \(settings.listName) archive: the issue as it was sent\(sent).")
        return neutral.fill(html, html: true)
            // The default templates' link labels, reworded for a reader who is not subscribed.
            .replacingOccurrences(of: ">Unsubscribe</a>", with: ">Subscribe</a>")
            .replacingOccurrences(of: ">Preferences</a>", with: ">Past issues</a>")
            .replacingOccurrences(of: " because you subscribed at ", with: " by subscribing at ")
            .replacingOccurrences(of: " and confirmed your address.", with: " and confirming your address.")
    }

    /// `/archive/feed.xml`: Atom 1.0 (RFC 4287), absolute links from `server.public_url`.
    public func feed(_ issues: [IssueRecord]) -> String {
        let published = Self.published(issues)
        let x = HTML.escape
        let updated = published.compactMap(\.sentAt).max() ?? Date(timeIntervalSince1970: 0)
        var out = """
            <?xml version="1.0" encoding="utf-8"?>
            <feed xmlns="http://www.w3.org/2005/Atom" xml:lang="\(x(settings.language))">
            <id>\(x(archiveURL))</id>
            <title>\(x(settings.listName))</title>
            <updated>\(Self.timestamp(updated))</updated>
            <author><name>\(x(settings.listName))</name></author>
            <link rel="self" type="application/atom+xml" href="\(x(feedURL))"/>
            <link rel="alternate" type="text/html" href="\(x(archiveURL))"/>

            """
        for issue in published {
            let titles = Self.titles(issue)
            out += """
                <entry>
                <id>\(x(issueURL(issue.week)))</id>
                <title>\(x(issue.subject ?? issue.week.description))</title>
                <updated>\(Self.timestamp(issue.sentAt ?? issue.updatedAt))</updated>
                <link rel="alternate" type="text/html" href="\(x(issueURL(issue.week)))"/>
                <summary>\(x(titles.isEmpty ? "The issue of \(issue.week)." : titles.joined(separator: " · ")))</summary>
                </entry>

                """
        }
        return out + "</feed>\n"
    }

    /// The featured comparisons' titles, from the issue's manifest.
    static func titles(_ issue: IssueRecord) -> [String] {
        struct Manifest: Decodable {
            struct Item: Decodable { var title: String }
            var comparisons: [Item]
        }
        guard let manifest = issue.manifest,
            let decoded = try? JSONDecoder().decode(Manifest.self, from: Data(manifest.utf8))
        else { return [] }
        return decoded.comparisons.map(\.title)
    }

    static func day(_ date: Date) -> String {
        date.formatted(.iso8601.year().month().day())
    }

    static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }

    /// Writes the archive as static files for a web server serving `directory` at
    /// `<server.public_url>/archive`: `index.html`, `WEEK/index.html` and `feed.xml`. Each file is
    /// written under a temporary name and renamed into place; pages of issues no longer
    /// published (hidden since) are removed.
    public func build(into directory: String, issues: [IssueRecord]) throws -> [String] {
        let root = URL(fileURLWithPath: directory)
        var outputs: [(String, String)] = [("index.html", index(issues)), ("feed.xml", feed(issues))]
        let published = Self.published(issues)
        for issue in published {
            if let page = issuePage(issue.week, in: issues) { outputs.append(("\(issue.week)/index.html", page)) }
        }
        var written: [String] = []
        for (name, contents) in outputs {
            let final = root.appendingPathComponent(name)
            try FileManager.default.createDirectory(
                at: final.deletingLastPathComponent(), withIntermediateDirectories: true)
            let temporary = final.deletingLastPathComponent().appendingPathComponent(
                ".\(final.lastPathComponent).\(UUID().uuidString).tmp")
            try Data(contents.utf8).write(to: temporary)
            guard rename(temporary.path, final.path) == 0 else {
                try? FileManager.default.removeItem(at: temporary)
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: final.path])
            }
            written.append(final.path)
        }
        let weeks = Set(published.map(\.week.description))
        for name in (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        where (try? IssueWeek(parsing: name)) != nil && !weeks.contains(name) {
            try? FileManager.default.removeItem(at: root.appendingPathComponent(name))
        }
        return written
    }
}
