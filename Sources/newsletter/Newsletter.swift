import ArgumentParser
import Foundation
import NewsletterCore

@main
struct Newsletter: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "newsletter",
        abstract: "A self-hosted weekly digest of AI tool comparisons.",
        discussion: """
            Settings come from newsletter.toml in the working directory (or --config PATH); \
            secrets from NEWSLETTER_SMTP_PASSWORD, NEWSLETTER_EDITOR_TOKEN and NEWSLETTER_BOUNCES_PASSWORD.

            Exit codes: 0 done; 1 part of the work failed (the rest is stored) or a record was \
            not found; 3 (preview) too few comparisons or nothing to build; 4 (send) not \
            approved, (run) waiting for approval; 64 bad command line; 69 (send, run) the mail \
            server failed; 70 (preview, summaries.strict) a summary provider could not run; 74 the store or outbox failed; 75 (send, run) another one is going \
            on; 78 bad configuration or templates.
            """,
        version: "0.1.0",
        subcommands: [
            Ingest.self, Comparisons.self, Preview.self, Approve.self, Send.self, RunCommand.self, Status.self, Report.self,
            Issues.self, Subscribers.self, Bounces.self, Serve.self, Config.self, Summaries.self, BenchmarkEncode.self,
            Topics.self, Archive.self, DKIM.self, StoreCommand.self, Users.self, Audit.self, Webhooks.self,
            APIKeys.self,
        ]
    )

    /// Runs the command; an error that carries its exit status is printed (unless the command has
    /// already said why) and ends the process with that status, here and nowhere else.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch let error as any ExitStatusProviding {
            if !(error is ExitStatus) { Terminal.printError("\(error)") }
            Foundation.exit(error.exitStatus.rawValue)
        } catch {
            exit(withError: error)
        }
    }
}
