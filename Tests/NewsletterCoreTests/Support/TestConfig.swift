import Foundation
import NewsletterCore
import Testing

/// The pieces of `newsletter.toml` the command tests share.
enum TestConfig {
    /// Delivery to a test sink: the sender, its connections, no retries, plaintext on loopback.
    static func delivery(to sink: SMTPSink, concurrency: Int) -> String {
        """
        [mail]
        from = "digest@shiporskip.example"
        concurrency = \(concurrency)
        retries = 0
        [smtp]
        url = "\(sink.url)"
        allow_plaintext = true
        """
    }

    /// `[store] url = …` for a shared database; nothing for the embedded SQLite default.
    static func store(_ url: String?) -> String {
        url.map { "[store]\nurl = \"\($0)\"" } ?? ""
    }
}

/// The store a command test runs its commands on: the SQLite default, or a fresh PostgreSQL
/// database of the test run's cluster.
enum CommandBackend: String, CaseIterable, CustomTestStringConvertible {
    case sqlite = "SQLite"
    case postgres = "PostgreSQL"

    var testDescription: String { rawValue }

    /// A fresh database for `.postgres`; nil for SQLite (the data directory's own file).
    func freshDatabase() async throws -> PostgresLocation? {
        self == .postgres ? try await PostgresCluster.freshDatabase() : nil
    }
}
