import Foundation
import Testing

/// `newsletter run` and `newsletter status` end to end, through smtp-sink: idempotence, the wait
/// for approval with one preview per draft, the cutoff, and the run lock with a dead holder.
@Suite(.serialized, .enabled(if: SMTPSink.available, "smtp-sink (Debian postfix) is not installed"))
struct RunCommandTests {
    let directory: URL
    static let week = "2026-W47"

    init() throws {
        directory = try TestPaths.temporaryDirectory()
    }

    /// Examples as the ingest source; weeks are named explicitly and `send-late` keeps the tests
    /// independent of today's date (2026-W47 is long over when CI runs).
    func configure(_ sink: SMTPSink, run: String, concurrency: Int = 2) async throws {
        try """
        templates_dir = "\(TestPaths.repository.appendingPathComponent("templates").path)"
        [ingest]
        sources = ["\(TestPaths.examples.path)"]
        [run]
        missed = "send-late"
        \(run)
        \(TestConfig.delivery(to: sink, concurrency: concurrency))
        [summaries]
        enabled = false
        """.write(to: directory.appendingPathComponent("newsletter.toml"), atomically: true, encoding: .utf8)
    }

    /// Runs the binary; with `clock`, as cron would on that day (libfaketime).
    func newsletter(_ arguments: [String], clock: String? = nil) async throws -> (
        status: Int32, stdout: String, stderr: String
    ) {
        let run = try await CommandLineTests.run(arguments, in: directory, clock: clock)
        return (run.status, run.stdout, run.stderr)
    }

    func addSubscribers(_ count: Int) async throws {
        for index in 0..<count {
            #expect(try await newsletter(["subscribers", "add", "reader\(index)@example.org"]).status == 0)
        }
    }

    func status() async throws -> [String: Any] {
        let run = try await newsletter(["status", "--week", Self.week, "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
    }

    @Test func tenRunsSendEachSubscriberOneCopy() async throws {
        let sink = try SMTPSink()
        try await configure(sink, run: #"approval = "auto""#)
        try await addSubscribers(4)
        let first = try await newsletter(["run", "--week", Self.week])
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        let summary = first.stdout.split(separator: "\n").last.map(String.init) ?? ""
        #expect(summary.hasPrefix("newsletter run: ok — 2026-W47 sent"), "\(summary)")
        // examples/ holds two comparisons, each as text and as HTML: the second copies are duplicates.
        #expect(summary.contains("4 sent") && summary.contains("ingest: 4 pages, 2 new"), "\(summary)")
        for _ in 0..<9 {
            let again = try await newsletter(["run", "--week", Self.week])
            #expect(again.status == 0)
            #expect(again.stdout.contains("2026-W47 nothing to do: already sent"), "\(again.stdout)")
            #expect(again.stdout.contains("4 pages, 0 new"))
        }
        let recipients = try sink.recipients()
        #expect(recipients.sorted() == (0..<4).map { "reader\($0)@example.org" }.sorted())
    }

    @Test func manualApprovalMailsEachEditorOnePreviewPerDraftAndWaits() async throws {
        let sink = try SMTPSink()
        try await configure(sink, run: #"editors = ["ed@example.org", "chief@example.org"]"#)
        try await addSubscribers(3)
        for _ in 0..<3 {
            let waiting = try await newsletter(["run", "--week", Self.week])
            #expect(waiting.status == 4, "\(waiting.stdout)\(waiting.stderr)")
            #expect(waiting.stdout.contains("newsletter run: waiting for approval — 2026-W47 waiting for approval"))
        }
        // One preview per editor, however often the run waits.
        #expect(try sink.recipients().sorted() == ["chief@example.org", "ed@example.org"])
        #expect(try sink.messages().allSatisfy { Self.subject(of: $0).hasPrefix("[preview, not approved] ") })

        var report = try await status()
        #expect(report["issue"] as? String == "draft" && report["approved"] as? Bool == false)
        #expect((report["editorsMailed"] as? [String])?.sorted() == ["chief@example.org", "ed@example.org"])
        #expect((report["nextRun"] as? String)?.contains("wait for approval") == true)

        #expect(try await newsletter(["approve", "--week", Self.week]).status == 0)
        let sent = try await newsletter(["run", "--week", Self.week])
        #expect(sent.status == 0, "\(sent.stdout)\(sent.stderr)")
        let recipients = try sink.recipients()
        #expect(recipients.count == 5 && Set(recipients).count == 5, "\(recipients)")

        report = try await status()
        #expect(report["issue"] as? String == "sent" && report["approved"] as? Bool == true)
        #expect((report["ledger"] as? [String: Int]) == ["sent": 3])
        let pages = try #require(report["pages"] as? [[String: Any]])
        #expect(pages.count == 2 && pages.allSatisfy { $0["title"] is String })
        #expect((report["summaryProviders"] as? [String: Int]) == ["extractive": 2])
        #expect((report["lastRun"] as? [String: Any])?["outcome"] as? String == "sent")
    }

    /// The Subject header with its RFC 2047 base64 encoded-words decoded.
    static func subject(of dump: String) -> String {
        let lines = dump.components(separatedBy: "\n")
        guard let start = lines.firstIndex(where: { $0.hasPrefix("Subject:") }) else { return "" }
        var header = String(lines[start].dropFirst("Subject:".count))
        for line in lines[(start + 1)...] {
            guard line.hasPrefix(" ") || line.hasPrefix("\t") else { break }
            header += line
        }
        return header.split(separator: " ").map { word -> String in
            guard word.hasPrefix("=?UTF-8?B?"), word.hasSuffix("?="),
                let data = Data(base64Encoded: String(word.dropFirst(10).dropLast(2)))
            else { return String(word) }
            return String(decoding: data, as: UTF8.self)
        }.joined()
    }

    /// Cron's run two hours after the week ended, with a one-hour cutoff: the week is set
    /// aside. The editor who then names the week has decided, and it goes out.
    @Test(.enabled(if: CommandLineTests.faketimeAvailable, "faketime (Debian) is not installed"))
    func aWeekPastTheCutoffIsNotSentByCronButIsWhenTheEditorNamesIt() async throws {
        let sink = try SMTPSink()
        try await configure(sink, run: "approval = \"auto\"\ncutoff = \"1h\"")
        try await addSubscribers(2)
        let run = try await newsletter(["run"], clock: "2026-11-23 02:00:00")
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("2026-W47 skipped: not sent by the cutoff (run.cutoff = 1h"), "\(run.stdout)")
        #expect(try sink.recipients().isEmpty)
        let report = try await status()
        #expect(report["issue"] as? String == "skipped")
        #expect((report["skipReason"] as? String)?.contains("cutoff") == true)
        #expect((report["nextRun"] as? String)?.hasPrefix("nothing: skipped") == true)
        #expect((report["nextRun"] as? String)?.contains("newsletter run --week 2026-W47` builds it anyway") == true)

        let named = try await newsletter(["run", "--week", Self.week])
        #expect(named.status == 0, "\(named.stdout)\(named.stderr)")
        #expect(named.stdout.contains("2026-W47 sent"), "\(named.stdout)")
        #expect(try sink.recipients().count == 2)
        #expect(try await status()["issue"] as? String == "sent")
    }

    @Test func aLockHeldByALiveProcessRefusesTheRunAndOneLeftByAKilledProcessDoesNot() async throws {
        let sink = try SMTPSink()
        try await configure(sink, run: #"approval = "auto""#)
        try await addSubscribers(2)
        let lockPath = directory.appendingPathComponent("subscribers/run.lock").path
        try FileManager.default.createDirectory(
            atPath: (lockPath as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        // Another process holds the lock, as an overlapping run would.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        holder.arguments = [
            "python3", "-c",
            "import fcntl, sys, time; f = open(sys.argv[1], 'a'); fcntl.flock(f, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(600)",
            lockPath,
        ]
        let out = Pipe()
        holder.standardOutput = out
        try holder.run()
        defer {
            kill(holder.processIdentifier, SIGKILL)
            holder.waitUntilExit()
        }
        // It prints nothing until it holds the lock.
        #expect(String(decoding: out.fileHandleForReading.availableData, as: UTF8.self).hasPrefix("locked"))
        let refused = try await newsletter(["run", "--week", Self.week])
        #expect(refused.status == 75, "\(refused.stdout)\(refused.stderr)")
        #expect(refused.stdout.contains("newsletter run: busy"))
        #expect(try sink.recipients().isEmpty)

        // kill -9 of the holder: the kernel drops its lock, and the next run proceeds.
        kill(holder.processIdentifier, SIGKILL)
        holder.waitUntilExit()
        let run = try await newsletter(["run", "--week", Self.week])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(try sink.recipients().count == 2)
    }

    /// The run's status comes out of the run lock and the process exits from the root command,
    /// so the run unwinds first: the store is closed, which folds SQLite's write-ahead log into
    /// the database file and removes it (an exit inside the lock left it behind).
    @Test(arguments: [#"approval = "auto""#, #"editors = ["ed@example.org"]"#])
    func aRunClosesTheStoreBeforeItExits(run settings: String) async throws {
        let sink = try SMTPSink()
        try await configure(sink, run: settings)
        try await addSubscribers(2)
        let run = try await newsletter(["run", "--week", Self.week])
        #expect([0, 4].contains(run.status), "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("newsletter run: "), "\(run.stdout)")
        let log = directory.appendingPathComponent("subscribers/newsletter.sqlite-wal").path
        #expect(!FileManager.default.fileExists(atPath: log))
    }

    /// A `send` going on (here: its lock held) stops the run before it sends, and never the
    /// other way round: the run only tries send.lock, it never waits for it.
    @Test func aRunDoesNotSendWhileASendHoldsItsLock() async throws {
        let sink = try SMTPSink()
        try await configure(sink, run: #"approval = "auto""#)
        try await addSubscribers(2)
        var holder: RunLockHolder? = try RunLockHolder(
            path: directory.appendingPathComponent("subscribers/send.lock").path)
        let refused = try await newsletter(["run", "--week", Self.week])
        #expect(refused.status == 75, "\(refused.stdout)\(refused.stderr)")
        #expect(refused.stdout.contains("a `newsletter send` is running"))
        #expect(try sink.recipients().isEmpty)
        #expect(holder != nil)
        holder = nil
        #expect(try await newsletter(["run", "--week", Self.week]).status == 0)
        #expect(try sink.recipients().count == 2)
    }

    /// A real `newsletter run` killed mid-send: its lock dies with it, and the next run
    /// finishes the week without losing anyone.
    @Test func aRunKilledMidSendIsFinishedByTheNextRun() async throws {
        let slow = try SMTPSink(faults: ["-w", "1"])
        try await configure(slow, run: #"approval = "auto""#)
        let count = 10
        try await addSubscribers(count)
        let killed = try CommandLineTests.runKilled(["run", "--week", Self.week], in: directory) {
            try slow.recipients().count >= 2
        }
        #expect(killed, "the run ended before it could be killed")
        let beforeKill = try slow.recipients()
        #expect(beforeKill.count < count, "the run should have been interrupted")
        #expect((try await status()["lastRun"] as? [String: Any])?["outcome"] as? String == "running, or interrupted")

        let fast = try SMTPSink()
        try await configure(fast, run: #"approval = "auto""#)
        let resumed = try await newsletter(["run", "--week", Self.week])
        #expect(resumed.status == 0, "\(resumed.stdout)\(resumed.stderr)")
        let all = beforeKill + (try fast.recipients())
        #expect(Set(all) == Set((0..<count).map { "reader\($0)@example.org" }), "nobody missing")
        #expect(all.count - Set(all).count <= 2, "duplicates only among the two in-flight messages")
    }

    @Test func aServerThatIsDownMarksNothingSentAndStatusShowsTheError() async throws {
        let sink = try SMTPSink()
        try await configure(sink, run: #"approval = "auto""#)
        try await addSubscribers(3)
        kill(sink.process.processIdentifier, SIGKILL)
        sink.process.waitUntilExit()
        let run = try await newsletter(["run", "--week", Self.week])
        #expect(run.status == 69, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("newsletter run: MAIL SERVER FAILED — 2026-W47 stopped, the mail server failed"))
        let report = try await status()
        #expect(report["issue"] as? String == "approved")
        #expect((report["ledger"] as? [String: Int]) == ["pending": 3])
        let errors = try #require(report["lastErrors"] as? [String])
        #expect(errors.count == 1 && errors[0].hasPrefix("last run: \(sink.url)"), "\(errors)")
        #expect((report["lastRun"] as? [String: Any])?["outcome"] as? String == "server-unavailable")
    }

    /// The ledger stops recording mid-send: the run reports the store's failure (exit 74), not
    /// the mail server's.
    @Test func aLedgerThatCannotRecordStopsTheRunAsAStoreFailure() async throws {
        let sink = try SMTPSink()
        try await configure(sink, run: #"approval = "auto""#)
        try await addSubscribers(5)
        try LedgerFull.install(
            atPath: directory.appendingPathComponent("subscribers/newsletter.sqlite").path, afterSent: 2)
        let run = try await newsletter(["run", "--week", Self.week])
        #expect(run.status == 74, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("newsletter run: STORE/OUTBOX FAILED — 2026-W47 stopped: the store failed"), "\(run.stdout)")
        #expect(run.stdout.contains("the ledger could not record a delivery (SQLite error 19: database or disk is full"))
        #expect(!run.stdout.contains("mail server failed"))
    }

    @Test func statusOfAWeekNobodyRan() async throws {
        let sink = try SMTPSink()
        try await configure(sink, run: "")
        let report = try await status()
        #expect(report["issue"] as? String == "none")
        #expect(report["lastRun"] == nil && (report["pages"] as? [Any])?.isEmpty == true)
        #expect((report["window"] as? [String])?.first == "2026-11-16T00:00:00Z")
        let text = try await newsletter(["status", "--week", Self.week])
        #expect(text.status == 0 && text.stdout.contains("last run: none"))
    }
}
