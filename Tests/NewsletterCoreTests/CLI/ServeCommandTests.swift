import Foundation
import Testing

/// `serve` on either backend, through the built executable on loopback: a reader subscribes,
/// confirms and leaves with the one-click link of the digest they got; the editor pages want
/// the editor's password. The same steps and answers on SQLite and on a PostgreSQL store.
@Suite(.serialized)
struct ServeCommandTests {
    struct Answer {
        var status: Int
        var body: String
    }

    /// One HTTP request by Python's urllib in a process of its own (Foundation's URLSession
    /// hung here on Linux), with a timeout so a server that does not answer fails the test.
    func request(
        _ method: String, _ url: String, form: String? = nil, password: String? = nil
    ) async throws -> Answer {
        let script = """
            import base64, sys, urllib.error, urllib.request
            method, url, form, password = sys.argv[1:5]
            request = urllib.request.Request(url, method=method, data=form.encode() if method == "POST" else None)
            if method == "POST":
                request.add_header("Content-Type", "application/x-www-form-urlencoded")
            if password:
                request.add_header("Authorization", "Basic " + base64.b64encode(f"editor:{password}".encode()).decode())
            try:
                with urllib.request.urlopen(request, timeout=60) as answer:
                    status, body = answer.status, answer.read()
            except urllib.error.HTTPError as error:
                status, body = error.code, error.read()
            sys.stdout.write(f"{status}\\n" + body.decode("utf-8", "replace"))
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, method, url, form ?? "", password ?? ""]
        let run = try await Blocking.run { [process] in try CommandLineTests.collect(process) }
        #expect(run.status == 0, "\(method) \(url): \(run.stderr)")
        let lines = run.stdout.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
        return Answer(status: Int(lines.first ?? "") ?? 0, body: lines.count > 1 ? String(lines[1]) : "")
    }

    @Test(arguments: CommandBackend.allCases)
    func aReaderSubscribesConfirmsAndLeavesAndTheEditorPagesWantThePassword(_ backend: CommandBackend) async throws {
        let location = try await backend.freshDatabase()
        let served = try ServedDirectory(store: location.map(PostgresCluster.url))
        let cli = served.cli
        for arguments in [["ingest", TestPaths.examples.path], ["preview", "--week", "2026-W47"], ["approve", "--week", "2026-W47"]] {
            let run = try await cli.run(arguments)
            #expect(run.status == 0, "\(arguments): \(run.stderr)")
        }
        let server = try served.start(environment: ["NEWSLETTER_EDITOR_TOKEN": "editor-secret"])
        defer {
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
        }
        let base = served.base

        let signup = try await request("POST", "\(base)/subscribe", form: "email=reader%40example.org&name=Rea")
        try #require(signup.status == 200, "\(signup.body)")
        let confirmation = try EndpointMailFiles.first(
            in: served.directory.appendingPathComponent("outbox/endpoint-mail"), named: "confirmation-")
        let confirmURL = try #require(confirmation.firstMatch(of: /http:\/\/127\.0\.0\.1:\d+\/confirm\/[A-Za-z0-9_-]{43}/))
        let confirmed = try await request("POST", String(confirmURL.0), form: "")
        #expect(confirmed.status == 200 && confirmed.body.contains("reader@example.org"), "\(confirmed.body)")
        let again = try await request("POST", String(confirmURL.0), form: "")
        #expect(again.status == 410 && again.body.contains("already used"), "a used link says so: \(again.body)")
        #expect(try await cli.run(["subscribers", "list"]).stdout.contains("reader@example.org\tconfirmed\tRea"))

        let send = try await cli.run(["send", "--week", "2026-W47"])
        #expect(send.status == 0 && send.stdout.contains("1 sent"), "\(send.stdout)\(send.stderr)")
        let digest = try EndpointMailFiles.first(
            in: served.directory.appendingPathComponent("outbox/2026-W47/messages"), named: "")
        let unsubscribeURL = try #require(
            digest.replacingOccurrences(of: "\r\n ", with: " ").firstMatch(
                of: /List-Unsubscribe: <(http:\/\/127\.0\.0\.1:\d+\/unsubscribe\/[A-Za-z0-9_-]{43})>/))
        let left = try await request("POST", String(unsubscribeURL.1), form: "List-Unsubscribe=One-Click")
        #expect(left.status == 200, "\(left.body)")
        #expect(try await cli.run(["subscribers", "list"]).stdout.contains("reader@example.org\tunsubscribed"))
        let unknown = try await request("POST", "\(base)/unsubscribe/\(String(repeating: "A", count: 43))", form: "")
        #expect(unknown.status == 404)

        let malformed = try await request("POST", "\(base)/subscribe", form: "email=not-an-address")
        #expect(malformed.status == 422 && malformed.body.contains("email"), "\(malformed.body)")

        #expect(try await request("GET", "\(base)/editor/issues/2026-W47").status == 401)
        #expect(try await request("GET", "\(base)/editor/issues/2026-W47", password: "wrong").status == 401)
        let page = try await request("GET", "\(base)/editor/issues/2026-W47", password: "editor-secret")
        #expect(page.status == 200 && page.body.contains("2026-W47"), "\(page.status)")

        if let location {
            // Everything above went to the shared database, not a stray SQLite file.
            #expect(try await PostgresCluster.psql(location, "SELECT status FROM subscriber") == "unsubscribed")
            #expect(
                !FileManager.default.fileExists(atPath: served.directory.appendingPathComponent("data/newsletter.sqlite").path))
        }
    }
}
