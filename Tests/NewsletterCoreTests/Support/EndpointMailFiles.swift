import Foundation

/// The browser tests' view of the endpoint's mail: `.eml` files the file transport writes.
enum EndpointMailFiles {
    static let browserAvailable =
        FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium")
        && FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver")

    struct NotFound: Error {
        var folder: String
        var prefix: String
    }

    /// The first `.eml` under `folder` whose name starts with `prefix`, waiting for the queue
    /// (for as long as a busy machine may need: the wait ends as soon as the mail is there);
    /// quoted-printable soft line breaks removed, so that a long link reads whole.
    static func first(in folder: URL, named prefix: String) throws -> String {
        for _ in 0..<1200 {
            if let name = try? FileManager.default.contentsOfDirectory(atPath: folder.path).sorted().first(where: {
                $0.hasPrefix(prefix) && $0.hasSuffix(".eml")
            }) {
                return try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
                    .replacingOccurrences(of: "=\r\n", with: "")
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw NotFound(folder: folder.path, prefix: prefix)
    }
}

/// A data directory configured for `serve` on a free loopback port (links in mail point there),
/// without summaries; `start` runs the real binary in it until the returned process is stopped.
struct ServedDirectory {
    let cli: CommandLineTests
    let port: Int
    var directory: URL { cli.directory }
    var base: String { "http://127.0.0.1:\(port)" }

    /// - Parameter store: a `store.url` (a shared database); nil keeps the SQLite default.
    init(store url: String? = nil) throws {
        cli = try CommandLineTests()
        port = try SMTPSink.freePort()
        try """
        templates_dir = "\(TestPaths.repository.appendingPathComponent("templates").path)"
        [server]
        public_url = "http://127.0.0.1:\(port)"
        [summaries]
        enabled = false
        \(TestConfig.store(url))
        """.write(to: cli.directory.appendingPathComponent("newsletter.toml"), atomically: true, encoding: .utf8)
    }

    /// `serve`, once it listens; the caller kills it.
    func start(environment extra: [String: String] = [:]) throws -> Process {
        let server = Process()
        server.executableURL = CommandLineTests.executable
        server.arguments = ["serve", "--port", "\(port)"]
        server.currentDirectoryURL = directory
        server.environment = ProcessInfo.processInfo.environment.merging(extra) { $1 }
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        do {
            try SMTPSink.waitForListener(port: port)
        } catch {
            // Never leave a server behind a test that could not use it.
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
            throw error
        }
        return server
    }
}
