import Foundation
import Logging
import Testing

@testable import NewsletterCore

/// What the preferences page changes reaches the digest: text-only subscribers get a
/// text/plain message, paused ones get nothing, and the greeting uses the saved name.
struct PreferencesDeliveryTests {
    @Test func formatPauseAndNameFromThePreferencesPageShapeTheDigest() async throws {
        let directory = try TestPaths.temporaryDirectory()
        let store = try AppDatabase.open(path: directory.appendingPathComponent("n.sqlite").path)
        let week = try IssueWeek(parsing: "2026-W47")
        try await store.saveDraft(
            IssueDraft(
                week: week, subject: "Week 47", html: "<p>%%GREETING%%</p>", text: "%%GREETING%%\n", manifest: "{}",
                comparisonIDs: [], hash: "h"))
        try await store.approve(week, hash: "h", at: Date())
        var tokens: [String: String] = [:]
        for email in ["html@example.org", "text@example.org", "paused@example.org"] {
            let subscriber = try await store.addSubscriber(email: email, name: nil, status: .confirmed)
            tokens[email] = try await store.newUnsubscribeToken(subscriberID: subscriber.id, at: Date())
        }
        _ = try await store.updatePreferences(
            token: tokens["text@example.org"]!, Preferences(name: "Tex", format: .text, paused: false),
            client: .commandLine, at: Date())
        _ = try await store.updatePreferences(
            token: tokens["paused@example.org"]!, Preferences(name: nil, format: .html, paused: true),
            client: .commandLine, at: Date())

        let outbox = directory.appendingPathComponent("messages")
        let mailer = Mailer(
            store: store,
            settings: DeliverySettings(
                from: try MailAddress("digest@example.org"), listID: "d.example.org", publicURL: "https://x.example"),
            logger: Logger(label: "test"))
        let summary = try await mailer.send(week, through: FileTransport(directory: outbox.path))
        #expect(summary.sent == 2)
        let messages = try FileManager.default.contentsOfDirectory(atPath: outbox.path).map {
            try String(contentsOfFile: outbox.appendingPathComponent($0).path, encoding: .utf8)
        }
        let html = try #require(messages.first { $0.contains("To: html@example.org") })
        let text = try #require(messages.first { $0.contains("<text@example.org>") })
        #expect(html.contains("multipart/alternative") && html.contains("text/html"))
        #expect(!text.contains("multipart") && !text.contains("text/html"))
        #expect(text.contains("Content-Type: text/plain; charset=utf-8"))
        #expect(text.contains("Hi Tex,"))
        #expect(text.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"))
        #expect(!messages.contains { $0.contains("paused@example.org") })
    }
}
