import Foundation
import NewsletterCore
import Testing

/// The commands an editor and cron run, on a PostgreSQL store: the same outputs as on SQLite,
/// and several senders (and runs) sharing one database.
@Suite(.serialized, .runningStores, .enabled(if: SMTPSink.available, "smtp-sink (Debian postfix) is not installed"))
struct PostgresCommandTests {
    let week = "2026-W47"

    func configure(_ directory: URL, sink: SMTPSink, store url: String?, concurrency: Int = 2) throws {
        try """
        templates_dir = "\(TestPaths.repository.appendingPathComponent("templates").path)"
        \(TestConfig.delivery(to: sink, concurrency: concurrency))
        [summaries]
        enabled = false
        \(TestConfig.store(url))
        """.write(to: directory.appendingPathComponent("newsletter.toml"), atomically: true, encoding: .utf8)
    }

    func newsletter(_ arguments: [String], in directory: URL) async throws -> CommandLineTests.Run {
        try await CommandLineTests.run(arguments, in: directory)
    }

    /// Ingest, subscribers, preview, approve: the week ready to send.
    func prepare(_ directory: URL, subscribers: Int) async throws -> [String] {
        var printed: [String] = []
        for arguments in [
            ["ingest", TestPaths.examples.path], ["preview", "--week", week], ["approve", "--week", week],
        ] {
            let run = try await newsletter(arguments, in: directory)
            #expect(run.status == 0, "\(arguments): \(run.stderr)")
            printed.append(run.stdout)
        }
        for index in 0..<subscribers {
            let run = try await newsletter(["subscribers", "add", "reader\(index)@example.org"], in: directory)
            #expect(run.status == 0, "\(run.stderr)")
        }
        return printed
    }

    @Test func theWeekIsBuiltApprovedSentAndReportedTheSameOnBothBackends() async throws {
        let location = try await PostgresCluster.freshDatabase()
        var printed: [[String]] = []
        for url in [nil, PostgresCluster.url(location)] {
            let directory = try TestPaths.temporaryDirectory()
            let sink = try SMTPSink()
            try configure(directory, sink: sink, store: url)
            var outputs = try await prepare(directory, subscribers: 5)
            let first = try await newsletter(["send", "--week", week], in: directory)
            #expect(first.status == 0, "\(first.stderr)")
            #expect(first.stdout.contains("5 sent") && first.stdout.contains("complete"), "\(first.stdout)")
            let again = try await newsletter(["send", "--week", week], in: directory)
            #expect(again.status == 0 && again.stdout.contains("0 sent"), "\(again.stdout)")
            let delivered = try sink.recipients()
            #expect(Set(delivered).count == 5 && delivered.count == 5)
            let status = try await newsletter(["status", "--week", week, "--json"], in: directory)
            #expect(status.status == 0, "\(status.stderr)")
            let report = try #require(
                try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
            #expect(report["issue"] as? String == "sent")
            #expect((report["ledger"] as? [String: Int])?["sent"] == 5)
            #expect((report["senders"] as? [Any])?.isEmpty == true, "a finished sender is no longer listed")
            outputs += [first.stdout, again.stdout]
            // The two runs write to directories of their own, and each draft's tracked links
            // have ids of their own, so its hash is its own.
            printed.append(
                outputs.map {
                    $0.replacingOccurrences(of: directory.path, with: "DIR")
                        .replacing(/(draft |--hash )[0-9a-f]{12}/) { "\($0.1)HASH" }
                })
        }
        #expect(printed[0] == printed[1])
        #expect(try await PostgresCluster.psql(location, "SELECT count(*) FROM delivery WHERE state = 'sent'") == "5")
    }

    /// Three `send`s started at once on one database (three hosts, say): everyone gets one copy,
    /// and each sender says what it did and that the rest is another's.
    @Test func threeSendsAtOnceShareTheWeekAndSendEveryoneOnce() async throws {
        let location = try await PostgresCluster.freshDatabase()
        let directory = try TestPaths.temporaryDirectory()
        let sink = try SMTPSink()
        try configure(directory, sink: sink, store: PostgresCluster.url(location), concurrency: 2)
        _ = try await prepare(directory, subscribers: 40)
        let runs = try await withThrowingTaskGroup(of: CommandLineTests.Run.self) { group in
            for _ in 0..<3 {
                group.addTask { try await CommandLineTests.run(["send", "--week", "2026-W47"], in: directory) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        for run in runs { #expect(run.status == 0, "\(run.stdout)\(run.stderr)") }
        let recipients = try sink.recipients()
        #expect(recipients.count == 40, "no copy twice: \(recipients.count)")
        #expect(Set(recipients) == Set((0..<40).map { "reader\($0)@example.org" }))
        let sent = runs.compactMap { run in
            run.stdout.firstMatch(of: /: (\d+) sent/).flatMap { Int($0.1) }
        }
        #expect(sent.reduce(0, +) == 40, "each sender counted only its own: \(runs.map(\.stdout))")
        #expect(try await PostgresCluster.psql(location, "SELECT status FROM issue WHERE week = '2026-W47'") == "sent")
    }

    /// `run` on two hosts at the same minute: while one holds the database's run lock, the
    /// other decides nothing and says so.
    @Test func aRunWhileAnotherHoldsTheDatabasesRunLockIsRefused() async throws {
        let location = try await PostgresCluster.freshDatabase()
        let directory = try TestPaths.temporaryDirectory()
        let sink = try SMTPSink()
        try configure(directory, sink: sink, store: PostgresCluster.url(location))
        let holder = try await PostgresStore.openRunning(location)
        let week = try IssueWeek(parsing: self.week)
        let refused = try await holder.withRunLock(week, dataDirectory: "/nonexistent") { _ in
            try await newsletter(["run", "--week", "2026-W47"], in: directory)
        }
        let run = try #require(refused)
        #expect(run.status == 75, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("another `newsletter run` is going on"), "\(run.stdout)")
        #expect(try await PostgresCluster.psql(location, "SELECT count(*) FROM issue") == "0", "nothing decided")
        // Free again: the run goes ahead (nothing ingested, so nothing to do).
        let next = try await newsletter(["run", "--week", "2026-W47"], in: directory)
        #expect(next.status == 0 && !next.stdout.contains("another"), "\(next.stdout)\(next.stderr)")
        #expect(try await PostgresCluster.psql(location, "SELECT count(*) FROM run_week") == "1", "this time it ran")
    }

    /// A `send` or a `run` that finishes its share while another live sender still holds rows
    /// has nothing left for a next run: it exits 0 and says the rest is the other's. When that
    /// sender is done too, the next send finds the week complete.
    @Test func aSenderThatFinishesWhileAnotherStillWorksLeavesTheRestToIt() async throws {
        let location = try await PostgresCluster.freshDatabase()
        let directory = try TestPaths.temporaryDirectory()
        let sink = try SMTPSink()
        try configure(directory, sink: sink, store: PostgresCluster.url(location))
        _ = try await prepare(directory, subscribers: 6)
        let week = try IssueWeek(parsing: self.week)
        let other = try await PostgresStore.openRunning(
            location, sender: SenderIdentity(host: "host-b.example", pid: 4242))
        _ = try await other.prepareDelivery(week, addSubscribers: true)
        let held = try await other.claimDeliveries(week, limit: 2, runStarted: Date())
        #expect(held.count == 2)

        let send = try await newsletter(["send", "--week", self.week], in: directory)
        #expect(send.status == 0, "\(send.stdout)\(send.stderr)")
        #expect(send.stdout.contains("4 sent"), "\(send.stdout)")
        #expect(send.stdout.contains("the rest is being sent by 1 other sender(s)"), "\(send.stdout)")
        let run = try await newsletter(["run", "--week", self.week], in: directory)
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("the rest is being sent by 1 other sender(s)"), "\(run.stdout)")

        for claim in held {
            try await other.recordSent(
                week, subscriberID: claim.subscriber.id, messageID: "<m\(claim.subscriber.id)@b>", reply: "250 ok")
        }
        try await other.finishDelivery(week)
        let last = try await newsletter(["send", "--week", self.week], in: directory)
        #expect(last.status == 0 && last.stdout.contains("complete"), "\(last.stdout)\(last.stderr)")
        #expect(try sink.recipients().count == 4, "the other sender's two were never this process's to send")
    }

    /// `status` lists the processes sending the week now.
    @Test func statusListsTheLiveSenders() async throws {
        let location = try await PostgresCluster.freshDatabase()
        let directory = try TestPaths.temporaryDirectory()
        let sink = try SMTPSink()
        try configure(directory, sink: sink, store: PostgresCluster.url(location))
        _ = try await prepare(directory, subscribers: 3)
        let week = try IssueWeek(parsing: self.week)
        let sender = SenderIdentity(host: "host-b.example", pid: 4242)
        let other = try await PostgresStore.openRunning(location, sender: sender)
        _ = try await other.prepareDelivery(week, addSubscribers: true)
        _ = try await other.claimDeliveries(week, limit: 2, runStarted: Date())
        let status = try await newsletter(["status", "--week", self.week], in: directory)
        #expect(status.status == 0, "\(status.stderr)")
        #expect(
            status.stdout.contains(
                "sender \(sender.id.uuidString.lowercased().prefix(8)) on host-b.example (pid 4242): 2 claimed, 0 sent"),
            "\(status.stdout)")
    }
}
