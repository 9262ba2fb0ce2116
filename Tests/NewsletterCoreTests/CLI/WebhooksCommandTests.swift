import Foundation
import Testing

/// `newsletter webhooks` as an operator runs it, with a verifying receiver (standardwebhooks).
@Suite(.enabled(if: WebhookReceiver.available, "standardwebhooks is not installed (scripts/setup-test-peers.sh)"))
struct WebhooksCommandTests {
    /// A proxy from the environment would resolve the endpoint's host itself, after the target
    /// policy checked it: the transfer goes to the address checked, never through the proxy.
    @Test func aTestSendGoesToTheCheckedAddressNotThroughAProxyFromTheEnvironment() async throws {
        let cli = try CommandLineTests()
        try """
        [summaries]
        enabled = false
        [webhooks]
        allowed_networks = ["127.0.0.1/32"]
        timeout_seconds = 5
        """.write(to: cli.directory.appendingPathComponent("newsletter.toml"), atomically: true, encoding: .utf8)
        let port = try SMTPSink.freePort()
        let added = try await cli.run(["webhooks", "add", "http://127.0.0.1:\(port)/hooks", "--events", "issue.sent"])
        try #require(added.status == 0, "\(added.stderr)")
        let secret = try #require(
            added.stdout.split(separator: " ").last { $0.hasPrefix("whsec_") }.map {
                $0.trimmingCharacters(in: .whitespacesAndNewlines)
            })
        let receiver = try WebhookReceiver(secret: secret, port: port)
        // Nobody listens there: a transfer sent through it fails.
        let proxy = "http://127.0.0.1:\(try SMTPSink.freePort())"
        let sent = try await CommandLineTests.run(
            ["webhooks", "test", "1"], in: cli.directory,
            environment: ["http_proxy": proxy, "https_proxy": proxy, "ALL_PROXY": proxy, "all_proxy": proxy])
        #expect(sent.status == 0, "\(sent.stdout)\(sent.stderr)")
        #expect(try receiver.received().map(\.verified) == [true])
    }
}
