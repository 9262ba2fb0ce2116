import Foundation

/// Postfix's `smtp-sink` on a free loopback port, dumping each message to a file, with its
/// fault options (`-f`/`-r` reject commands with 5xx/4xx, `-q`/`-Q` disconnect).
final class SMTPSink {
    let process = Process()
    let port: Int
    let dumps: URL

    static let executable = "/usr/sbin/smtp-sink"
    static var available: Bool { FileManager.default.isExecutableFile(atPath: executable) }

    var url: String { "smtp://127.0.0.1:\(port)" }

    init(faults: [String] = []) throws {
        port = try Self.freePort()
        dumps = try TestPaths.temporaryDirectory()
        // smtp-sink drops root privileges to the user named with -u, who must be able to write here.
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: dumps.path)
        process.executableURL = URL(fileURLWithPath: Self.executable)
        var arguments = ["-d", dumps.path + "/%Y%m%d%H%M%S."]
        if getuid() == 0 { arguments += ["-u", "nobody"] }
        arguments += faults + ["127.0.0.1:\(port)", "64"]
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        try Self.waitForListener(port: port)
    }

    deinit {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// The messages received so far, as the raw dump files' contents.
    func messages() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dumps.path).sorted().compactMap {
            do {
                return try String(contentsOfFile: dumps.appendingPathComponent($0).path, encoding: .utf8)
            } catch CocoaError.fileReadNoSuchFile {
                // smtp-sink opens a capture file when a transaction starts and removes it when the
                // transaction does not complete (seen with its fault options): a file gone between
                // the listing and the read is a message that was never received.
                return nil
            }
        }
    }

    /// The recipient of each received message (from the `X-Rcpt-Args` line smtp-sink adds).
    func recipients() throws -> [String] {
        try messages().compactMap { dump in
            dump.split(separator: "\n").first { $0.hasPrefix("X-Rcpt-Args:") }.map {
                $0.dropFirst("X-Rcpt-Args:".count).trimmingCharacters(in: .whitespaces)
                    .replacingOccurrences(of: "TO:", with: "").replacingOccurrences(of: "<", with: "")
                    .replacingOccurrences(of: ">", with: "")
            }
        }
    }

    static func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Waits for the sink to listen, up to a minute (a busy machine starts it slowly).
    static func waitForListener(port: Int) throws {
        for _ in 0..<1200 {
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            close(descriptor)
            if connected == 0 { return }
            usleep(50_000)
        }
        throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "smtp-sink did not listen on \(port)"])
    }
}
