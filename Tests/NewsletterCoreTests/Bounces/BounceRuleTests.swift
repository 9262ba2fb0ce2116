import Foundation
import NewsletterCore
import Testing

/// The one rule: RFC 3463 classes, the soft-bounce window and its reset, complaints.
@Suite struct BounceRuleTests {
    @Test(arguments: [
        ("5.1.1", BounceKind.hard), ("5.1.10", .hard), ("5.2.1", .hard), ("5.4.4", .hard), ("5.2.2", .soft),
        ("4.2.2", .soft), ("4.4.1", .soft), ("5.7.1", .policy), ("5.7.26", .policy), ("5.6.0", .policy),
        ("5.1.8", .policy), ("5.3.4", .soft), ("2.0.0", .delivered),
    ])
    func statusClasses(status: String, kind: BounceKind) {
        #expect(BounceRule.classify(BounceEvidence(status: status, action: "failed")) == kind)
    }

    @Test func actionDelayedIsSoftWhateverTheStatus() {
        #expect(BounceRule.classify(BounceEvidence(status: "5.1.1", action: "delayed")) == .soft)
        #expect(BounceRule.classify(BounceEvidence(status: nil, action: "Delayed")) == .soft)
    }

    @Test func anUnspecificCodeIsReadFromItsWords() {
        #expect(BounceRule.classify(BounceEvidence(status: "5.0.0", diagnostic: "550 5.0.0 User unknown")) == .hard)
        #expect(
            BounceRule.classify(BounceEvidence(status: "5.0.0", diagnostic: "550 5.0.0 blocked as spam")) == .policy)
        #expect(BounceRule.classify(BounceEvidence(status: "5.0.0", diagnostic: "552 mailbox full")) == .soft)
        #expect(BounceRule.classify(BounceEvidence(status: "5.0.0", diagnostic: "550 Error: command failed")) == .soft)
    }

    @Test func smtpRepliesAtSendTimeUseTheSameRule() {
        #expect(BounceRule.classify(BounceEvidence(smtpReply: "550 5.1.1 <a@b.example>: user unknown")) == .hard)
        #expect(BounceRule.classify(BounceEvidence(smtpReply: "554 5.7.1 Service unavailable; spam")) == .policy)
        #expect(
            BounceRule.classify(BounceEvidence(smtpReply: "552-5.2.2 The mailbox is full / 552 5.2.2 more")) == .soft)
        #expect(
            BounceRule.classify(BounceEvidence(smtpReply: "550 Requested action not taken: mailbox unavailable"))
                == .hard)
        #expect(EnhancedStatus.init("5.1.1")?.description == "5.1.1")
        #expect(EnhancedStatus.init("6.1.1") == nil)
    }

    @Test func complaintsAndAutoRepliesWinOverAnyStatus() {
        #expect(BounceRule.classify(BounceEvidence(status: "5.1.1", isComplaint: true)) == .complaint)
        #expect(BounceRule.classify(BounceEvidence(status: "5.1.1", isAutoReply: true)) == .autoReply)
    }

    let now = Date(timeIntervalSince1970: 1_800_000_000)
    func days(_ n: Double) -> Date { now.addingTimeInterval(-n * 86400) }

    @Test func effects() {
        let rule = BounceRule(softBounceLimit: 3, softBounceWindow: 30 * 86400)
        #expect(
            rule.effect(of: .hard, softBounces: [], lastGoodDelivery: nil, now: now)
                == .markBounced(reason: "hard bounce"))
        #expect(rule.effect(of: .complaint, softBounces: [], lastGoodDelivery: nil, now: now) == .unsubscribe)
        #expect(rule.effect(of: .policy, softBounces: [], lastGoodDelivery: nil, now: now) == .none)
        #expect(rule.effect(of: .autoReply, softBounces: [], lastGoodDelivery: nil, now: now) == .none)
    }

    @Test func softBouncesMarkBouncedOnlyEnoughWithinTheWindow() {
        let rule = BounceRule(softBounceLimit: 3, softBounceWindow: 30 * 86400)
        // Two within the window: not yet.
        #expect(rule.effect(of: .soft, softBounces: [days(14), days(0)], lastGoodDelivery: nil, now: now) == .none)
        // Three within: bounced.
        guard
            case .markBounced = rule.effect(
                of: .soft, softBounces: [days(14), days(7), days(0)], lastGoodDelivery: nil, now: now)
        else {
            Issue.record("three soft bounces in 30 days should mark bounced")
            return
        }
        // Three, but one older than the window: not yet.
        #expect(
            rule.effect(of: .soft, softBounces: [days(31), days(7), days(0)], lastGoodDelivery: nil, now: now) == .none)
    }

    @Test func aLaterGoodDeliveryResetsTheCount() {
        let rule = BounceRule(softBounceLimit: 3, softBounceWindow: 30 * 86400)
        let bounces = [days(21), days(14), days(0)]
        // A copy that did not bounce went out between the second and the third: only one counts.
        #expect(rule.effect(of: .soft, softBounces: bounces, lastGoodDelivery: days(7), now: now) == .none)
        // The last good delivery before all three: all count.
        #expect(rule.effect(of: .soft, softBounces: bounces, lastGoodDelivery: days(28), now: now) != .none)
    }

    @Test func verpTokensAreRandomLowercaseAndFoundOnlyInOurAddress() throws {
        let verp = VERPAddress(base: try MailAddress("bounces@shiporskip.example"))
        let first = VERPAddress.newToken()
        let second = VERPAddress.newToken()
        #expect(first != second && first.count == 32)
        #expect(first.allSatisfy { "abcdefghijklmnopqrstuvwxyz234567".contains($0) })
        let address = verp.address(token: first)
        #expect(address == "bounces+\(first)@shiporskip.example")
        _ = try MailAddress(address)  // a valid address
        #expect(verp.tokens(in: "To: <\(address.uppercased())>") == [first])
        #expect(verp.tokens(in: "xbounces+\(first)@shiporskip.example").isEmpty)
        #expect(verp.tokens(in: "bounces+\(first)@elsewhere.example").isEmpty)
        #expect(verp.tokens(in: "bounces+\(first.dropLast())@shiporskip.example").isEmpty)
    }
}
