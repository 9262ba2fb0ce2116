import Foundation
import Synchronization
import Testing

/// The `newsletter` executable as cron and editors run it: output, JSON and exit codes.
struct CommandLineTests {
    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    let directory: URL

    init() throws {
        directory = try TestPaths.temporaryDirectory()
    }

    /// Built beside the test bundle by `swift build` (the README's test command builds first).
    static var executable: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("newsletter")
    }

    func run(_ arguments: [String], in workingDirectory: URL? = nil) throws -> Run {
        try Self.run(arguments, in: workingDirectory ?? directory)
    }

    /// The same from an async test, which then waits on a thread of its own (`Blocking`), not
    /// on one of the concurrency pool's.
    func run(_ arguments: [String], in workingDirectory: URL? = nil) async throws -> Run {
        let directory = workingDirectory ?? directory
        return try await Blocking.run { try Self.run(arguments, in: directory) }
    }

    /// Starts the built executable and `kill -9`s it, as a crash would, as soon as `midway`
    /// holds (a sink has seen the first messages, say): a point in the work, not a time, so a
    /// slow or busy machine kills it at the same place. Returns false if it ended first.
    @discardableResult
    static func runKilled(
        _ arguments: [String], in workingDirectory: URL, when midway: () throws -> Bool
    ) throws -> Bool {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = workingDirectory
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        while process.isRunning, try !midway() { Thread.sleep(forTimeInterval: 0.02) }
        let killedMidway = process.isRunning
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        return killedMidway
    }

    /// Runs the built executable in `workingDirectory` and waits for it. With `clock`, under
    /// libfaketime (Debian's `faketime`) with the system clock starting at that moment
    /// ("2027-06-01 08:00:00", UTC): the binary as cron would run it on another day.
    /// `environment` is added to the child's (never set in this process: `setenv` while another
    /// thread spawns a process crashes Foundation's `Process.run`).
    static func run(
        _ arguments: [String], in workingDirectory: URL, clock: String? = nil, environment extra: [String: String] = [:],
        input: String? = nil
    ) throws -> Run {
        let process = Process()
        var environment = ProcessInfo.processInfo.environment.merging(extra) { $1 }
        if let clock {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/faketime")
            process.arguments = [clock, Self.executable.path] + arguments
            // Only the calendar moves: timeouts and rate limits keep measuring real intervals.
            environment["FAKETIME_DONT_FAKE_MONOTONIC"] = "1"
            environment["TZ"] = "UTC"
        } else {
            process.executableURL = Self.executable
            process.arguments = arguments
        }
        if clock != nil || !extra.isEmpty { process.environment = environment }
        process.currentDirectoryURL = workingDirectory
        if let input {
            // From a file, not a pipe: a large input cannot block the child's start.
            let file = try TestPaths.temporaryDirectory().appendingPathComponent("stdin")
            try Data(input.utf8).write(to: file)
            process.standardInput = try FileHandle(forReadingFrom: file)
        }
        return try collect(process)
    }

    /// The same from an async test, waiting on a thread of its own (`Blocking`).
    static func run(
        _ arguments: [String], in workingDirectory: URL, clock: String? = nil, environment: [String: String] = [:],
        input: String? = nil
    ) async throws -> Run {
        try await Blocking.run {
            try run(arguments, in: workingDirectory, clock: clock, environment: environment, input: input)
        }
    }

    /// Whether `run(_:in:clock:)` can move the clock here.
    static var faketimeAvailable: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/faketime") }

    /// Runs `process` to its end and returns what it printed. Both pipes are read at once, so
    /// a process that fills one while we wait on the other cannot hang the test.
    static func collect(_ process: Process) throws -> Run {
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stderr = Mutex(Data())
        let stderrRead = DispatchSemaphore(value: 0)
        Thread {
            let data = err.fileHandleForReading.readDataToEndOfFile()
            stderr.withLock { $0 = data }
            stderrRead.signal()
        }.start()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        stderrRead.wait()
        process.waitUntilExit()
        return Run(
            status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr.withLock { $0 }, as: UTF8.self))
    }

    @Test func theExecutableIsBuilt() {
        #expect(
            FileManager.default.isExecutableFile(atPath: Self.executable.path), "run `swift build` before `swift test`")
    }

    @Test(.enabled(if: TestPaths.samplePages != nil, "../shared/sample-pages is not present"))
    func dryRunJSONPrintsTheFiveSamplePagesAndStoresNothing() throws {
        let run = try run(["ingest", "--dry-run", "--json", TestPaths.samplePages!.path])
        #expect(run.status == 0, "\(run.stderr)")
        let records = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [[String: Any]])
        #expect(records.count == 5)
        for record in records {
            #expect(record["title"] is String && record["source"] is String && record["contentHash"] is String)
            let tools = try #require(record["tools"] as? [[String: Any]])
            #expect(tools.count == 2)
            #expect(tools.allSatisfy { $0["name"] is String && $0["panelShipPercent"] is Int })
            let takes = try #require(record["takes"] as? [[String: Any]])
            #expect(
                takes.allSatisfy {
                    $0["tool"] is String && $0["role"] is String && $0["text"] is String && $0["roleInferred"] is Bool
                        && $0["toolInferred"] is Bool
                })
        }
        let labelled = records.filter { ($0["layout"] as? String) == "labelled" }
        #expect(labelled.count == 2)
        #expect(labelled.allSatisfy { (($0["tools"] as? [[String: Any]])?.first?["shipVotes"] as? Int) != nil })
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("subscribers").path))
    }

    @Test func ingestStoresThenReportsUnchangedAndListsAndShows() throws {
        let examples = TestPaths.examples.path
        let first = try run(["ingest", examples])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("new        #1"))
        #expect(first.stdout.contains("duplicate"))  // each example exists as .html and .txt
        #expect(
            FileManager.default.fileExists(
                atPath: directory.appendingPathComponent("subscribers/newsletter.sqlite").path))
        let second = try run(["ingest", examples])
        #expect(second.status == 0)
        #expect(second.stdout.contains("unchanged  #1"))
        #expect(!second.stdout.contains("new "))

        let list = try run(["comparisons", "list"])
        #expect(list.stdout.contains("Inkwell vs Tallyhoist") && list.stdout.contains("Lanternfish vs Quillmark"))
        let show = try run(["comparisons", "show", "#1", "--json"])
        let record = try #require(try JSONSerialization.jsonObject(with: Data(show.stdout.utf8)) as? [String: Any])
        #expect(record["id"] as? Int == 1)
        #expect((record["takes"] as? [Any])?.isEmpty == false)
    }

    @Test func aFailedSourceGivesExitStatusOneAndTheOthersAreStored() throws {
        let bad = directory.appendingPathComponent("bad.txt")
        try Data([0x00, 0x01, 0x02]).write(to: bad)
        let run = try run(["ingest", bad.path, TestPaths.fixture("labelled-basic.txt").path])
        #expect(run.status == 1)
        #expect(run.stderr.contains("bad.txt") && run.stderr.contains("binary"))
        #expect(run.stdout.contains("1 new, 1 failed"))
    }

    @Test func aBadConfigurationGivesExitStatus78NamingTheKey() throws {
        try "[ingest]\nmax_page_bytes = -1\n".write(
            to: directory.appendingPathComponent("newsletter.toml"), atomically: true, encoding: .utf8)
        let run = try run(["comparisons", "list"])
        #expect(run.status == 78)
        #expect(run.stderr.contains("ingest.max_page_bytes"))
    }

    @Test func badArgumentsGiveExitStatus64() throws {
        let run = try run(["ingest", "--published", "someday", "x.txt"])
        #expect(run.status == 64)
        #expect(run.stderr.contains("someday"))
        #expect(try self.run(["comparisons", "show", "abc"]).status == 64)
    }

    @Test func showingAMissingComparisonSaysHowToFindOne() throws {
        let run = try run(["comparisons", "show", "42"])
        #expect(run.status == 1)
        #expect(run.stderr.contains("no comparison #42"))
    }

    @Test func previewAndApproveTheExamplesWeek() throws {
        // The model is left out here (SummariesCommandTests runs it): this is about the draft.
        try "templates_dir = \"\(TestPaths.repository.appendingPathComponent("templates").path)\"\n[summaries]\nenabled = false\n"
            .write(to: directory.appendingPathComponent("newsletter.toml"), atomically: true, encoding: .utf8)
        #expect(try run(["preview", "--week", "2026-W47"]).status == 3)  // empty store
        #expect(try run(["ingest", TestPaths.examples.path]).status == 0)
        let preview = try run(["preview", "--week", "2026-W47"])
        #expect(preview.status == 0, "\(preview.stderr)")
        #expect(preview.stdout.contains("2026-W47: 2 comparisons"))
        for name in ["preview.html", "preview.txt", "issue.json"] {
            #expect(
                FileManager.default.fileExists(atPath: directory.appendingPathComponent("outbox/2026-W47/\(name)").path)
            )
        }
        let other = try run(["approve", "--week", "2026-W47", "--hash", "000000"])
        #expect(other.status == 1 && other.stderr.contains("preview it again before approving"), "\(other.stderr)")
        #expect(try run(["approve", "--week", "2026-W47", "--hash", "abc"]).status == 64)
        let approve = try run(["approve", "--week", "2026-W47"])
        #expect(approve.status == 0 && approve.stdout.contains("approved"))
        #expect(try run(["approve", "--week", "2026-W47"]).stdout.contains("already approved"))
        // Approved once, by the command line, as the audit log says.
        let audit = try run(["audit", "--week", "2026-W47"])
        #expect(audit.stdout.components(separatedBy: "issue.approve").count == 2, "\(audit.stdout)")
        #expect(audit.stdout.contains("cli"), "\(audit.stdout)")
        #expect(try run(["preview", "--week", "2026-W47"]).stdout.contains("still approved"))
        #expect(try run(["issues"]).stdout.contains("2026-W47  approved"))
        #expect(try run(["approve", "--week", "2026-W40"]).status == 1)
        let thin = try run(["preview", "--week", "2026-W40"])
        #expect(thin.status == 3 && thin.stderr.contains("2026-W40 skipped"))
    }

    @Test func previewRejectsABadWeekAndBrokenTemplatesBeforeWritingAnything() throws {
        let bad = try run(["preview", "--week", "2026-W60"])
        #expect(bad.status == 64 && bad.stderr.contains("2026 has 53 ISO weeks"))
        let templates = directory.appendingPathComponent("templates")
        try FileManager.default.createDirectory(at: templates, withIntermediateDirectories: true)
        try "{{#comparisons}}".write(
            to: templates.appendingPathComponent("issue.html.mustache"), atomically: true, encoding: .utf8)
        try "{{subject}}".write(
            to: templates.appendingPathComponent("issue.txt.mustache"), atomically: true, encoding: .utf8)
        #expect(try run(["ingest", TestPaths.examples.path]).status == 0)
        let broken = try run(["preview", "--week", "2026-W47"])
        #expect(broken.status == 78 && broken.stderr.contains("issue.html.mustache"))
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("outbox/2026-W47").path))
    }

    @Test func configMasksTheSMTPPassword() throws {
        try "[smtp]\nurl = \"smtp://digest:hunter2@mail.example.org:587\"\n".write(
            to: directory.appendingPathComponent("newsletter.toml"), atomically: true, encoding: .utf8)
        let run = try run(["config"])
        #expect(run.status == 0)
        #expect(!run.stdout.contains("hunter2") && run.stdout.contains("smtp://digest:****@mail.example.org:587"))
    }
}
