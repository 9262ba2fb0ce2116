import Foundation
import NewsletterCore
import Testing

/// The project's corpus of bounces, complaints and auto-replies, filled in from a real send
/// (VERP through smtp-sink), imported: each classified as expected.tsv says, bad ones refused
/// with the file and the reason, the rest still processed, nothing counted twice.
@Suite(.serialized, .enabled(if: SMTPSink.available, "smtp-sink (Debian postfix) is not installed"))
struct BounceCorpusTests {
    @Test func everyCopyWentOutWithItsOwnOpaqueEnvelopeSender() async throws {
        let scenario = try await BounceScenario(subscribers: 10)
        #expect(scenario.copies.count == 10)
        let senders = scenario.copies.values.map(\.verp)
        #expect(Set(senders).count == 10)
        for (index, copy) in scenario.copies {
            let tokens = BounceScenario.verp.tokens(in: copy.verp)
            #expect(tokens.count == 1, "\(copy.verp)")
            // Nothing but the random token: bounces+<32 base32 characters>@the bounce domain.
            #expect(copy.verp == "bounces+\(tokens.first ?? "")@shiporskip.example")
            #expect(!copy.verp.contains("reader\(index)"))
            #expect(try scenario.store.verpRecipient(token: tokens[0])?.subscriberID != nil)
        }
        // A token changed in one character belongs to no one.
        let token = BounceScenario.verp.tokens(in: scenario.copies[0]!.verp)[0]
        let forged = String(token.dropLast()) + (token.last == "a" ? "b" : "a")
        #expect(try scenario.store.verpRecipient(token: forged) == nil)
    }

    @Test func theCorpusIsClassifiedAsExpected() async throws {
        let scenario = try await BounceScenario(subscribers: 10)
        let files = try scenario.corpusFiles()
        let processor = scenario.processor()
        let summary = try processor.importFiles(files.map(\.path))
        #expect(summary.messages == files.count)

        for (expectation, path) in files {
            if expectation.outcome.hasPrefix("refused: ") {
                let words = expectation.outcome.dropFirst("refused: ".count)
                let refusal = summary.refused.first { $0.hasPrefix(path) }
                #expect(refusal?.contains(words) == true, "\(expectation.file): \(refusal ?? "not refused")")
            } else {
                #expect(!summary.refused.contains { $0.hasPrefix(path) }, "\(expectation.file) was refused")
            }
            if let index = expectation.subscriber, let state = expectation.state {
                #expect(try scenario.status(index) == state, "\(expectation.file): reader\(index)")
            }
        }
        #expect(summary.learnt[.hard] == 3 && summary.learnt[.soft] == 2 && summary.learnt[.policy] == 1)
        #expect(summary.learnt[.autoReply] == 2 && summary.learnt[.complaint] == 1)
        #expect(summary.refused.count == 2)
        // Untouched: reader9 got no report at all.
        #expect(try scenario.status(9) == .confirmed)

        let tally = try scenario.store.bounceTally(scenario.week)
        #expect(tally.hard == 3 && tally.soft == 2 && tally.policy == 1 && tally.autoReplies == 2)
        #expect(tally.complaints == 1 && tally.delivered == 10)
        #expect(tally.complaintRate == 0.1 && tally.complaintRateTooHigh)
        #expect(tally.markedBounced == 3 && tally.unsubscribed == 1)

        // The complaint left a consent record.
        let complainer = try #require(try scenario.store.subscriber(email: "reader4@example.org"))
        let trail = try scenario.store.consentRecords(subscriberID: complainer.id)
        #expect(trail.last?.event == "unsubscribe" && trail.last?.detail?.contains("complaint") == true)

        // Importing the same files again counts nothing twice.
        let again = try processor.importFiles(files.map(\.path))
        #expect(again.learnt.isEmpty && again.duplicates == files.count - 2)
        #expect(try scenario.store.bounceTally(scenario.week) == tally)
    }

    @Test func aTenMegabyteBounceIsClassifiedAndAnOversizedOneRefused() async throws {
        let scenario = try await BounceScenario(subscribers: 10)
        let large = scenario.largeBounce(subscriber: 9, megabytes: 10)
        #expect(large.count > 10_000_000)
        let outcome = try scenario.processor().process(large, source: .file)
        guard case .recorded(let learnt) = outcome else {
            Issue.record("the 10 MB DSN was not recorded: \(outcome)")
            return
        }
        #expect(learnt.map(\.kind) == [.hard])
        #expect(try scenario.status(9) == .bounced)

        var small = scenario.processor()
        small.maxMessageBytes = 1 << 20
        guard case .refused(let reason) = try small.process(large, source: .file) else {
            Issue.record("an oversized message was not refused")
            return
        }
        #expect(reason.contains("bounces.max_message_bytes"))
    }

    @Test func mboxFilesAreSplitAndEachMessageNamedByItsLine() async throws {
        let scenario = try await BounceScenario(subscribers: 10)
        let files = try scenario.corpusFiles()
        var mbox = ""
        for (expectation, path) in files
        where ["gmail-hard.eml", "malformed-multipart.eml", "delayed.eml"].contains(expectation.file) {
            let text = try String(contentsOfFile: path, encoding: .utf8)
            mbox += "From MAILER-DAEMON Mon Nov 23 07:00:00 2026\r\n" + text + "\r\n"
        }
        let path = scenario.directory.appendingPathComponent("bounces.mbox").path
        try Data(mbox.utf8).write(to: URL(fileURLWithPath: path))
        let summary = try scenario.processor().importFiles([path])
        #expect(summary.messages == 3)
        #expect(summary.learnt[.hard] == 1 && summary.learnt[.soft] == 1)
        #expect(summary.refused.count == 1)
        // "<file>:<line of its From separator>: what was wrong"
        #expect(summary.refused.first?.hasPrefix("\(path):") == true)
        #expect(summary.refused.first?.contains("malformed multipart") == true)
    }

    @Test func softBouncesAcrossIssuesMarkBouncedAndAGoodDeliveryResetsTheCount() async throws {
        let scenario = try await BounceScenario(subscribers: 2, bounceAfter: 2)
        let processor = scenario.processor(bounceAfter: 2)
        let subscriber = try #require(try scenario.store.subscriber(email: "reader0@example.org"))
        // Two soft bounces for this week's copy (a delayed notice, then the final failure) and
        // one from a week with no copy: the rule gets each report once.
        func soft(_ key: String, week: IssueWeek?) throws -> BounceRecordOutcome {
            try scenario.store.recordBounce(
                BounceRecord(
                    key: key, subscriberID: subscriber.id, week: week, kind: .soft,
                    evidence: BounceEvidence(status: "4.2.2"), source: .file, receivedAt: scenario.now),
                rule: processor.rule)
        }
        #expect(try soft("a", week: scenario.week) == .recorded(.none))
        #expect(try soft("a", week: scenario.week) == .duplicate)
        #expect(try scenario.status(0) == .confirmed)
        guard case .recorded(.markBounced) = try soft("b", week: nil) else {
            Issue.record("the second soft bounce within the window should mark bounced")
            return
        }
        #expect(try scenario.status(0) == .bounced)

        // reader1: a soft bounce, then a later week delivered without a bounce, then another
        // soft bounce: the good delivery reset the count.
        let other = try #require(try scenario.store.subscriber(email: "reader1@example.org"))
        let early = BounceRecord(
            key: "c", subscriberID: other.id, week: nil, kind: .soft, evidence: BounceEvidence(status: "4.2.2"),
            source: .file, receivedAt: scenario.now.addingTimeInterval(-7200))
        _ = try scenario.store.recordBounce(early, rule: processor.rule)  // before the week's copy was sent
        var late = early
        late.key = "d"
        late.receivedAt = scenario.now
        #expect(try scenario.store.recordBounce(late, rule: processor.rule) == .recorded(.none))
        #expect(try scenario.status(1) == .confirmed)
    }
}
