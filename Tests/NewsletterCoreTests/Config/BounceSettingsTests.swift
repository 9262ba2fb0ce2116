import Foundation
import NewsletterCore
import Testing

@Suite struct BounceSettingsTests {
    @Test func bounceSettingsAreReadAndThePasswordComesFromTheEnvironment() throws {
        let directory = try TestPaths.temporaryDirectory()
        let file = directory.appendingPathComponent("newsletter.toml").path
        try """
        [mail]
        bounce_address = "bounces@example.org"
        bounce_after = 4
        bounce_window = "14d"

        [bounces]
        mailbox_url = "imap://mail.example.org/INBOX"
        username = "bounces"
        """.write(toFile: file, atomically: true, encoding: .utf8)
        let settings = try Configuration.load(path: file, environment: ["NEWSLETTER_BOUNCES_PASSWORD": "pw"])
        #expect(settings.bounces.bounceAddress == "bounces@example.org")
        #expect(settings.bounces.window == 14 * 86400)
        #expect(settings.bounces.mailbox?.password == "pw")
        let delivery = try settings.deliverySettings()
        #expect(delivery.verp?.base.address == "bounces@example.org")
        #expect(delivery.bounceRule == BounceRule(softBounceLimit: 4, softBounceWindow: 14 * 86400))
        #expect(try Configuration.parse("mail.bounce_window = 10").bounces.window == 10 * 86400)
        // Without bounce_address the envelope stays mail.from.
        #expect(try Configuration.parse("").deliverySettings().verp == nil)
    }

    @Test(arguments: [
        ("[mail]\nbounce_address = \"bounces+x@example.org\"", "mail.bounce_address"),
        ("[mail]\nbounce_address = \"a-very-long-local-part-for-bounces@example.org\"", "mail.bounce_address"),
        ("[mail]\nbounce_window = \"soon\"", "mail.bounce_window"),
        ("[bounces]\nmailbox_url = \"http://mail.example.org\"", "bounces.mailbox_url"),
        ("[bounces]\nmailbox_url = \"imap://mail.example.org\"\nallow_plaintext = true", "bounces.allow_plaintext"),
    ])
    func badBounceSettingsNameTheirKey(toml: String, key: String) {
        do {
            _ = try Configuration.parse(toml)
            Issue.record("accepted: \(toml)")
        } catch {
            #expect(error.description.contains(key), "\(error)")
        }
    }

    @Test func plaintextIsAllowedOnLoopbackOnly() throws {
        let settings = try Configuration.parse(
            "[bounces]\nmailbox_url = \"pop3://127.0.0.1:1110\"\nallow_plaintext = true")
        #expect(settings.bounces.mailbox?.allowPlaintext == true)
    }
}
