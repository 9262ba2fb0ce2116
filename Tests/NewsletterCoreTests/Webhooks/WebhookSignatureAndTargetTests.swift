import Foundation
import Testing

@testable import NewsletterCore

@Suite("Webhook signatures and targets")
struct WebhookSignatureAndTargetTests {
    /// The Standard Webhooks reference libraries' own test vector.
    @Test func theSignatureMatchesTheSpecsReferenceVector() throws {
        let secret = try WebhookSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        #expect(
            secret.signature(id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330, body: #"{"test": 2432232314}"#)
                == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        #expect("\(secret)" == "whsec_…")
        #expect(throws: WebhookSecretError.self) { try WebhookSecret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") }
        #expect(try WebhookSecret(WebhookSecret.make().text).text.hasPrefix("whsec_"))
    }

    @Test(arguments: [
        ("http://127.0.0.1/hook", "loopback"), ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[::1]:8080/", "loopback"), ("http://[::ffff:127.0.0.1]/", "loopback"),
        ("http://[::ffff:10.0.0.1]/", "private"), ("http://2130706433/", "loopback"), ("http://0x7f.1/", "loopback"),
        ("http://localhost:9/", "loopback"), ("http://10.1.2.3/", "private"), ("http://172.16.0.1/", "private"),
        ("http://192.168.1.1/", "private"), ("http://[fe80::1]/", "link-local"), ("http://[fd00::1]/", "private"),
        ("http://0.0.0.0/", "unspecified"), ("http://224.0.0.1/", "multicast"), ("http://100.64.0.1/", "shared"),
    ])
    func aPrivateOrLocalTargetIsRefusedNamingTheAddress(_ url: String, _ kind: String) throws {
        let refusal = try #require(throws: WebhookTargetRefusal.self) { try WebhookTargetPolicy().check(url) }
        guard case .forbiddenAddress(_, _, let found) = refusal else {
            Issue.record("\(url): \(refusal)")
            return
        }
        #expect(found.rawValue.hasPrefix(kind))
        #expect("\(refusal)".contains("refused"))
    }

    @Test(arguments: [
        "file:///etc/passwd", "gopher://127.0.0.1:25/_HELO", "ftp://example.org/", "javascript:alert(1)",
        "http://user:pass@example.org/", "http:///nohost", "http://exa mple.org/", "not a url",
    ])
    func aURLThatIsNotPlainHTTPIsRefusedBeforeAnythingIsResolved(_ url: String) {
        #expect(throws: WebhookTargetRefusal.self) { try WebhookTargetPolicy().parse(url) }
    }

    @Test func theAllowancesLetLocalTargetsThroughButNeverUnspecifiedOrMulticast() throws {
        let networks = WebhookTargetPolicy(allowedNetworks: [IPNetwork("127.0.0.0/8")!, IPNetwork("fd00::/8")!])
        #expect(try networks.check("http://127.0.0.1:9/").address.description == "127.0.0.1")
        #expect(try networks.check("http://[fd12::1]/").address.description == "fd12::1")
        #expect(throws: WebhookTargetRefusal.self) { try networks.check("http://10.0.0.1/") }
        let all = WebhookTargetPolicy(allowPrivateTargets: true)
        #expect(try all.check("http://169.254.169.254/").connectTo == "::169.254.169.254:80")
        #expect(try all.check("https://[::1]/").connectTo == "::[::1]:443")
        #expect(throws: WebhookTargetRefusal.self) { try all.check("http://0.0.0.0/") }
        #expect(throws: WebhookTargetRefusal.self) { try all.check("http://239.1.1.1/") }
        #expect(IPNetwork("10.0.0.0/33") == nil && IPNetwork("nonsense") == nil)
    }

    @Test func aPublicAddressIsAllowed() throws {
        #expect(try WebhookTargetPolicy().check("https://93.184.215.14/hook").address.description == "93.184.215.14")
        #expect(try WebhookTargetPolicy().check("http://[2606:4700::1111]/").address.isIPv6)
    }

    @Test func theEventListIsParsedAndAnUnknownNameIsNamed() throws {
        #expect(try WebhookEventType.parseList("all") == WebhookEventType.subscribable)
        #expect(try WebhookEventType.parseList("issue.sent, subscriber.bounced") == [.issueSent, .subscriberBounced])
        let error = try #require(throws: WebhookEventListError.self) { try WebhookEventType.parseList("issue.sent,nope") }
        #expect(error.name == "nope")
        #expect(throws: WebhookEventListError.self) { try WebhookEventType.parseList("webhook.test") }
    }
}
