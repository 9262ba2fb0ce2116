import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import NewsletterCore

/// The editor page's summary actions: replace a summary with the editor's text, go back to the
/// generated one, rebuild the draft from the stored summaries (no model asked), what that does to
/// an approval, and every refusal: no form token, a forged or stale one, a cross-site post, bad
/// text, a week or comparison that is not there, a week already sent.
@Suite(.serialized)
struct EditorSummaryEditingTests {
    let directory: URL
    let store: AppDatabase
    let week = try! IssueWeek(parsing: "2026-W47")
    let time = ManualTime()
    /// Stands for the model: it has no replies, and every test checks it was never called.
    let model = ScriptedProvider("local", model: "scripted-1", replies: [])
    let ids: [Int64]
    let generated: [Int64: String]
    static let token = "editor-token-Ω-123"
    static let bearer: HTTPFields = [.authorization: "Bearer \(token)"]

    init() async throws {
        directory = try TestPaths.temporaryDirectory()
        store = try AppDatabase.open(path: directory.appendingPathComponent("data/newsletter.sqlite").path)
        ids = try await StoreFixtures.store(
            [
                try StoreFixtures.comparison(
                    "Alpha vs Beta", published: "2026-11-17T10:00:00Z", shipPercents: [50, 50]),
                try StoreFixtures.comparison("Gamma vs Delta", published: "2026-11-18T10:00:00Z"),
                try StoreFixtures.comparison("Older vs Week", published: "2026-11-03T10:00:00Z"),
            ], in: store)
        var generated: [Int64: String] = [:]
        for id in ids {
            let title = try await #require(try store.comparison(id: id)).comparison.title
            generated[id] = "Generated summary of \(title), in the words of a model."
        }
        self.generated = generated
    }

    var first: Int64 { ids[0] }
    var second: Int64 { ids[1] }
    var otherWeek: Int64 { ids[2] }

    func previewer() throws -> IssuePreview<AppDatabase> {
        IssuePreview(
            store: store,
            templates: try TemplateSet.load(directory: TestPaths.repository.appendingPathComponent("templates").path),
            settings: IssueSettings(), outboxDirectory: directory.appendingPathComponent("outbox").path,
            summarizer: SummaryChain(providers: [model], store: store))
    }

    /// What an earlier preview's model wrote, stored under the chain's keys (but for `notStored`),
    /// then the week's draft built as `preview` builds it: every summary from the store.
    @discardableResult
    func buildDraft(notStored: Set<Int64> = []) async throws -> String {
        for id in ids where !notStored.contains(id) {
            let stored = try await #require(try store.comparison(id: id))
            try await store.saveSummary(
                PanelSummary(text: generated[id]!, provider: "local", kind: .abstractive, model: "scripted-1"),
                for: SummaryCacheKey(
                    model: "scripted-1|abstractive", promptVersion: SummaryPrompt.version,
                    sourceHash: SummaryPrompt.sourceHash(stored.comparison)))
        }
        let result = try await previewer().preview(week)
        let outcomes = result.summaryOutcomes
        #expect(outcomes.allSatisfy { $0.fromCache })
        return result.draft.hash
    }

    func app() throws -> some ApplicationProtocol {
        var dependencies = ServerDependencies()
        dependencies.time = time
        dependencies.summaries = SummaryChain(providers: [model], store: store)
        return try TestServer.app(
            store: store, outbox: directory.appendingPathComponent("outbox"), dependencies: dependencies
        ) { $0.editor.token = Self.token }
    }

    func formToken(for week: IssueWeek? = nil) -> String {
        EditorFormToken(editorToken: Self.token).make(for: week ?? self.week, at: time.now())
    }

    /// A form post as the editor page sends it: the token, same-origin.
    func post(
        _ client: some TestClientProtocol, _ path: String, _ fields: [(String, String)] = [],
        token: String? = nil, headers extra: HTTPFields = [:]
    ) async throws -> (status: HTTPResponse.Status, location: String?, body: String) {
        var headers = Self.bearer
        headers[.contentType] = "application/x-www-form-urlencoded"
        headers[HTTPField.Name("Sec-Fetch-Site")!] = "same-origin"
        for field in extra { headers[field.name] = field.value }
        let all = [(EditorFormToken.field, token ?? formToken())] + fields
        let body = all.map { "\($0.0)=\(Self.encode($0.1))" }.joined(separator: "&")
        return try await client.execute(
            uri: path, method: .post, headers: headers, body: ByteBuffer(string: body)
        ) { ($0.status, $0.headers[.location], String(buffer: $0.body)) }
    }

    static func encode(_ value: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return value.addingPercentEncoding(withAllowedCharacters: allowed)!
    }

    func page(_ client: some TestClientProtocol, _ query: String = "") async throws -> String {
        try await client.execute(uri: "/editor/issues/\(week)\(query)", method: .get, headers: Self.bearer) {
            #expect($0.status == .ok)
            return String(buffer: $0.body)
        }
    }

    var summaryPath: String { "/editor/issues/\(week)/summaries/\(first)" }

    @Test func thePageOffersAFormPerSummaryAndARebuildWithTheFormToken() async throws {
        try await buildDraft()
        try await app().test(.router) { client in
            let body = try await page(client)
            for id in [first, second] {
                #expect(body.contains("<form method=\"post\" action=\"/editor/issues/2026-W47/summaries/\(id)\""))
                #expect(body.contains("<textarea id=\"text-\(id)\" name=\"text\""))
                #expect(body.contains("maxlength=\"2000\" required>\(generated[id]!)</textarea>"))
            }
            // No text of the editor's yet: nothing to go back from.
            #expect(!body.contains("/revert\""))
            #expect(body.contains("action=\"/editor/issues/2026-W47/rebuild\""))
            let tokens = body.matches(of: /name="form_token" value="(\d+\.[0-9a-f]{64})"/).map { String($0.1) }
            #expect(tokens.count == 5)  // two summaries, rebuild, approve, test send
            #expect(Set(tokens) == [formToken()])
            #expect(!body.contains("Saved changes below are not in the draft"))
        }
        #expect(model.calls == 0)
    }

    /// The guard's verdict on the editor's own text shows beside it, escaped, as advice: the text
    /// is saved whatever the guard says.
    @Test func theGuardsAdviceOnTheEditorsTextShowsBesideIt() async throws {
        try await buildDraft()
        let mine = "The panel is unanimous on Driftnote and Cobaltline <script>x</script>"
        try await app().test(.router) { client in
            #expect(try await page(client).contains("class=\"advice\"") == false)
            let answer = try await post(client, summaryPath, [("text", mine)])
            #expect(answer.status == .seeOther)
            await #expect(try store.summaryOverride(week: week, comparisonID: first)?.text == mine)
            let body = try await page(client, "?done=saved")
            #expect(body.contains("advice only: your text is what ships"))
            #expect(body.contains("it would refuse a model's summary like it:"), "\(body)")
            // Neither tool's panel is unanimous, and the text stops mid-sentence.
            #expect(body.contains("<li><code>verdict-mismatch</code>: states &quot;unanimous&quot;"))
            #expect(body.contains("<li><code>incomplete-sentence</code>"))
            #expect(body.contains("&lt;script&gt;x&lt;/script&gt;"))
            #expect(!body.contains("<script>x"))
        }
        #expect(model.calls == 0)
    }

    @Test func replaceRebuildRevertRebuildShowsEachTextInTheDraftAndAsksNoModel() async throws {
        let original = try await buildDraft()
        let mine = "Editor's <b>pick</b> & \"more\":\r\nthe panel splits."
        try await app().test(.router) { client in
            var answer = try await post(client, summaryPath, [("text", "  \(mine)  ")])
            #expect(answer.status == .seeOther)
            #expect(answer.location == "/editor/issues/2026-W47?done=saved#summary-\(first)")
            // Stored as the CLI stores it (trimmed, CR dropped); the draft is not changed by it.
            await #expect(
                try store.summaryOverride(week: week, comparisonID: first)?.text
                    == "Editor's <b>pick</b> & \"more\":\nthe panel splits.")
            await #expect(try store.issue(week)?.draftHash == original)

            var body = try await page(client, "?done=saved")
            #expect(body.contains("Your summary is saved. It is not in the draft until you rebuild the draft."))
            #expect(body.contains("Saved changes below are not in the draft yet"))
            #expect(body.contains("Your text is saved but not in the draft yet"))
            #expect(
                body.contains(
                    ">Editor&#39;s &lt;b&gt;pick&lt;/b&gt; &amp; &quot;more&quot;:\nthe panel splits.</textarea>"))
            #expect(!body.contains("<b>pick</b>"))
            #expect(body.contains("action=\"/editor/issues/2026-W47/summaries/\(first)/revert\""))

            answer = try await post(client, "/editor/issues/\(week)/rebuild")
            #expect(answer.status == .seeOther)
            #expect(answer.location == "/editor/issues/2026-W47?done=rebuilt")
            let rebuilt = try await #require(try store.issue(week))
            #expect(rebuilt.draftHash != original)
            let html = try #require(rebuilt.html)
            #expect(html.contains("Written by the editor"))
            #expect(
                html.contains("Editor&#39;s &lt;b&gt;pick&lt;/b&gt; &amp; &quot;more&quot;")
                    || html.contains("Editor's &lt;b&gt;pick&lt;/b&gt; &amp;"))
            #expect(!html.contains(generated[first]!))
            #expect(rebuilt.text?.contains("Editor's <b>pick</b>") == true)
            // The outbox shows the same draft, as after `preview`.
            let previewFile = try String(
                contentsOf: directory.appendingPathComponent("outbox/2026-W47/preview.txt"), encoding: .utf8)
            #expect(previewFile.contains("Editor's <b>pick</b>"))

            body = try await page(client, "?done=rebuilt")
            #expect(body.contains("The draft was rebuilt from the stored summaries (no model was asked)."))
            #expect(!body.contains("Saved changes below are not in the draft"))
            #expect(body.contains("edited</span> · shown as “Written by the editor”"))
            // In the preview frames (escaped twice: the page escapes the email's HTML) and the text.
            #expect(body.contains("Editor&amp;#39;s &amp;lt;b&amp;gt;pick&amp;lt;/b&amp;gt;"))
            let text = try #require(body.firstMatch(of: /<pre>([^<]*)<\/pre>/)?.1)
            #expect(text.contains("&lt;b&gt;pick&lt;/b&gt;"))

            answer = try await post(client, "\(summaryPath)/revert")
            #expect(answer.status == .seeOther)
            #expect(answer.location == "/editor/issues/2026-W47?done=reverted#summary-\(first)")
            await #expect(try store.summaryOverride(week: week, comparisonID: first) == nil)
            body = try await page(client)
            #expect(body.contains("The generated summary comes back when you rebuild the draft."))

            answer = try await post(client, "/editor/issues/\(week)/rebuild")
            #expect(answer.location == "/editor/issues/2026-W47?done=rebuilt")
            // Back to the very bytes of the first draft.
            let back = try await #require(try store.issue(week))
            #expect(back.draftHash == original)
            #expect(back.html?.contains(generated[first]!) == true)
            #expect(back.html?.contains("pick") == false)

            // Reverting again: nothing to revert, said so.
            answer = try await post(client, "\(summaryPath)/revert")
            #expect(answer.location == "/editor/issues/2026-W47?done=no-override#summary-\(first)")
        }
        #expect(model.calls == 0)
    }

    @Test func anEditAfterApprovalKeepsTheApprovedDraftUntilARebuildWithdrawsTheApproval() async throws {
        let original = try await buildDraft()
        try await store.approve(week, hash: original, at: time.now())
        try await app().test(.router) { client in
            // Rebuilding without a change keeps the approval: the same bytes.
            var answer = try await post(client, "/editor/issues/\(week)/rebuild")
            #expect(answer.location == "/editor/issues/2026-W47?done=still-approved")
            await #expect(try store.issue(week)?.approvedHash == original)

            answer = try await post(client, summaryPath, [("text", "The editor's own words.")])
            #expect(answer.status == .seeOther)
            // Saved, not rebuilt: the approved bytes are still what would be sent, and the page says so.
            var issue = try await #require(try store.issue(week))
            #expect(issue.status == .approved && issue.approvedHash == original && issue.draftHash == original)
            var body = try await page(client)
            #expect(body.contains("is approved, and it is what will be sent."))
            #expect(body.contains("the approval then no longer holds"))

            answer = try await post(client, "/editor/issues/\(week)/rebuild")
            #expect(answer.location == "/editor/issues/2026-W47?done=approval-withdrawn")
            issue = try await #require(try store.issue(week))
            #expect(issue.status == .draft && issue.approvedHash == nil && issue.draftHash != original)
            body = try await page(client, "?done=approval-withdrawn")
            #expect(body.contains("so that approval no longer holds"))
            #expect(body.contains("nothing is sent until you do"))
            #expect(body.contains("<button type=\"submit\">Approve draft \(issue.draftHash!.prefix(12))</button>"))

            // Going back to the generated text gives the approved bytes again, but an approval
            // once withdrawn is not restored by itself: the editor approves again.
            _ = try await post(client, "\(summaryPath)/revert")
            answer = try await post(client, "/editor/issues/\(week)/rebuild")
            #expect(answer.location == "/editor/issues/2026-W47?done=rebuilt")
            issue = try await #require(try store.issue(week))
            #expect(issue.draftHash == original && issue.approvedHash == nil && issue.status == .draft)
        }
        #expect(model.calls == 0)
    }

    @Test func badTextIsRefusedNamingTheFieldAndNothingIsStored() async throws {
        try await buildDraft()
        try await app().test(.router) { client in
            for (fields, status, words) in [
                ([("text", "")], HTTPResponse.Status.unprocessableContent, "the field \"text\": the summary is empty"),
                ([("text", " \r\n\t ")], .unprocessableContent, "the field \"text\": the summary is empty"),
                (
                    [("text", String(repeating: "é", count: 2001))], .unprocessableContent,
                    "the field \"text\": the summary has 2001 characters, more than 2000"
                ),
                ([], .unprocessableContent, "the field \"text\" (the summary) is required"),
                ([("text", "a\u{0}b")], .badRequest, "the field \"text\" contains NUL"),
                (
                    [("text", String(repeating: "x", count: 70_000))], .contentTooLarge,
                    "the field \"text\" holds at most 2000 characters"
                ),
            ] as [([(String, String)], HTTPResponse.Status, String)] {
                let answer = try await post(client, summaryPath, fields)
                #expect(answer.status == status, "\(words)")
                #expect(
                    answer.body.contains(words.replacingOccurrences(of: "\"", with: "&quot;")),
                    "\(answer.body.prefix(600))")
            }
            // 2,000 characters exactly are fine.
            let answer = try await post(client, summaryPath, [("text", String(repeating: "é", count: 2000))])
            #expect(answer.status == .seeOther)
        }
        await #expect(try store.summaryOverride(week: week, comparisonID: first)?.text.count == 2000)
    }

    @Test func aWeekOrAComparisonThatIsNotThereIs404() async throws {
        try await buildDraft()
        try await app().test(.router) { client in
            for (path, words) in [
                ("/editor/issues/2026-W46/summaries/\(first)", "2026-W46 has no draft"),
                ("/editor/issues/2026-W46/summaries/\(first)/revert", "2026-W46 has no draft"),
                (
                    "/editor/issues/\(week)/summaries/\(otherWeek)",
                    "comparison #\(otherWeek) is not in the draft of 2026-W47"
                ),
                ("/editor/issues/\(week)/summaries/999/revert", "comparison #999 is not in the draft of 2026-W47"),
                ("/editor/issues/\(week)/summaries/abc", "&quot;abc&quot; is not a comparison of 2026-W47"),
            ] {
                let week = try IssueWeek(parsing: String(path.split(separator: "/")[2]))
                let answer = try await post(client, path, [("text", "x y z")], token: formToken(for: week))
                #expect(answer.status == .notFound, "\(path)")
                #expect(answer.body.contains(words), "\(path): \(answer.body.prefix(600))")
            }
            let week46 = try IssueWeek(parsing: "2026-W46")
            let answer = try await post(client, "/editor/issues/2026-W46/rebuild", token: formToken(for: week46))
            #expect(answer.status == .notFound)
            #expect(answer.body.contains("2026-W46 has no draft to rebuild"))
            let bad = try await post(client, "/editor/issues/2026-W99/rebuild")
            #expect(bad.status == .badRequest)
        }
        await #expect(try store.summaryOverride(week: week, comparisonID: otherWeek) == nil)
    }

    @Test func aSentWeekCannotBeEditedOrRebuilt() async throws {
        let hash = try await buildDraft()
        try await store.saveSummaryOverride(week: week, comparisonID: second, text: "Stored before the send.")
        try await store.approve(week, hash: hash, at: time.now())
        try await store.markSent(week, at: time.now())
        try await app().test(.router) { client in
            var answer = try await post(client, summaryPath, [("text", "Too late.")])
            #expect(answer.status == .conflict)
            #expect(answer.body.contains("2026-W47 was already sent; its summaries can no longer change"))
            answer = try await post(client, "/editor/issues/\(week)/summaries/\(second)/revert")
            #expect(answer.status == .conflict)
            answer = try await post(client, "/editor/issues/\(week)/rebuild")
            #expect(answer.status == .conflict)
            #expect(answer.body.contains("already sent"))
            let body = try await page(client)
            #expect(body.contains("Sent: its summaries can no longer change."))
            #expect(!body.contains("<textarea") && !body.contains("/rebuild\"") && !body.contains("/revert\""))
        }
        await #expect(try store.summaryOverride(week: week, comparisonID: first) == nil)
        await #expect(try store.summaryOverride(week: week, comparisonID: second)?.text == "Stored before the send.")
        await #expect(try store.issue(week)?.draftHash == hash)
    }

    @Test func postsWithoutAValidFormTokenOrFromAnotherSiteAreRefused() async throws {
        let hash = try await buildDraft()
        let sealer = EditorFormToken(editorToken: Self.token)
        let otherKey = EditorFormToken(editorToken: "another-token")
        let now = time.now()
        let valid = sealer.make(for: week, at: now)
        let seconds = valid.split(separator: ".")[0]
        try await app().test(.router) { client in
            for path in [
                summaryPath, "\(summaryPath)/revert", "/editor/issues/\(week)/rebuild",
                "/editor/issues/\(week)/approve",
                "/editor/issues/\(week)/test-send",
            ] {
                for (token, words) in [
                    ("", "the form has no &quot;form_token&quot;"),
                    ("garbage", "was not made by this server for this page"),
                    (otherKey.make(for: week, at: now), "was not made by this server for this page"),
                    (sealer.make(for: try IssueWeek(parsing: "2026-W48"), at: now), "was not made by this server"),
                    ("\(Int(seconds)! + 1).\(valid.split(separator: ".")[1])", "was not made by this server"),
                    (sealer.make(for: week, at: now.addingTimeInterval(-13 * 3600)), "the editor page is too old"),
                    (sealer.make(for: week, at: now.addingTimeInterval(3600)), "the editor page is too old"),
                ] {
                    let answer = try await post(client, path, [("text", "Forged."), ("hash", hash)], token: token)
                    #expect(answer.status == .forbidden, "\(path) with \(token)")
                    #expect(answer.body.contains(words), "\(path) with \(token): \(answer.body.prefix(400))")
                }
                for (name, value) in [("Sec-Fetch-Site", "cross-site"), ("Origin", "https://evil.example")] {
                    let answer = try await post(
                        client, path, [("text", "Forged."), ("hash", hash)], headers: [HTTPField.Name(name)!: value])
                    #expect(answer.status == .forbidden, "\(path) with \(name)")
                    #expect(answer.body.contains("editor actions must come from the editor pages"))
                }
                let anonymous = try await client.execute(
                    uri: path, method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                    body: ByteBuffer(string: "form_token=\(valid)&text=Forged.")
                ) { $0.status }
                #expect(anonymous == .unauthorized)
            }
            // Chromium sends `Origin: null` with Fetch Metadata for a page's own posts; without
            // the metadata a null origin is refused.
            var answer = try await post(
                client, summaryPath, [("text", "From Chromium.")], headers: [HTTPField.Name("Origin")!: "null"])
            #expect(answer.status == .seeOther)
            answer = try await client.execute(
                uri: summaryPath, method: .post,
                headers: [
                    .authorization: "Bearer \(Self.token)", .contentType: "application/x-www-form-urlencoded",
                    HTTPField.Name("Origin")!: "null",
                ], body: ByteBuffer(string: "form_token=\(valid)&text=Forged.")
            ) { ($0.status, nil, String(buffer: $0.body)) }
            #expect(answer.status == .forbidden)
            // A page's token stays good for twelve hours by the server's clock, then it is refused.
            time.advance(by: .seconds(11 * 3600))
            #expect(try await post(client, summaryPath, [("text", "Late but fine.")], token: valid).status == .seeOther)
            time.advance(by: .seconds(2 * 3600))
            #expect(try await post(client, summaryPath, [("text", "Too late.")], token: valid).status == .forbidden)
        }
        await #expect(try store.summaryOverride(week: week, comparisonID: first)?.text == "Late but fine.")
        let issue = try await #require(try store.issue(week))
        #expect(issue.draftHash == hash && issue.status == .draft)
    }

    @Test func aRebuildThatWouldNeedTheModelIsRefusedAndChangesNothing() async throws {
        // The editor's text was there before the first preview: the model never wrote #second's
        // summary, so going back to it needs the model.
        try await store.saveSummaryOverride(week: week, comparisonID: second, text: "Written before the preview.")
        let hash = try await buildDraft(notStored: [second])
        try await app().test(.router) { client in
            _ = try await post(client, "/editor/issues/\(week)/summaries/\(second)/revert")
            var answer = try await post(client, "/editor/issues/\(week)/rebuild")
            #expect(answer.status == .conflict)
            #expect(answer.body.contains("no generated summary of #\(second) Gamma vs Delta is stored for 2026-W47"))
            #expect(answer.body.contains("newsletter preview --week 2026-W47 --rebuild"))
            await #expect(try store.issue(week)?.draftHash == hash)

            // A page published into the week since the draft was built: a rebuild would add it.
            try await StoreFixtures.store(
                [
                    try StoreFixtures.comparison(
                        "Late vs Page", published: "2026-11-20T10:00:00Z", shipPercents: [50, 40])
                ],
                in: store)
            _ = try await post(client, "/editor/issues/\(week)/summaries/\(second)", [("text", "Again mine.")])
            answer = try await post(client, "/editor/issues/\(week)/rebuild")
            #expect(answer.status == .conflict)
            #expect(answer.body.contains("the comparisons of 2026-W47 changed since its draft was built"))
            await #expect(try store.issue(week)?.draftHash == hash)
        }
        #expect(model.calls == 0)
    }
}
