import Foundation

/// A real HTTP server on loopback serving a directory: Python's http.server, started per test
/// on a free port and stopped when the test is done.
final class LocalHTTPServer {
    let process = Process()
    let port: Int

    var baseURL: String { "http://127.0.0.1:\(port)" }

    init(serving directory: URL) throws {
        let output = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", "-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", directory.path,
        ]
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        // "Serving HTTP on 127.0.0.1 port 41234 (http://127.0.0.1:41234/) ..."
        var seen = ""
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            seen += String(decoding: chunk, as: UTF8.self)
            if let range = seen.range(of: #"port (\d+)"#, options: .regularExpression) {
                port = Int(seen[range].dropFirst(5))!
                return
            }
        }
        kill(process.processIdentifier, SIGKILL)
        throw ServerDidNotStart(output: seen)
    }

    struct ServerDidNotStart: Error {
        var output: String
    }

    deinit {
        // SIGKILL: the test runner's threads may block SIGTERM, and the child inherits the mask.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
