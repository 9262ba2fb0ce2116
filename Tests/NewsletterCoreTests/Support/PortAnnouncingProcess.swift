import Foundation

/// A peer the tests start that binds a free port and prints it as its first line (aiosmtpd,
/// the relay, the https server). Killed when released: SIGKILL, since under the test runner its
/// children inherit a signal mask in which SIGTERM does not end them.
final class PortAnnouncingProcess: @unchecked Sendable {
    let process = Process()
    let port: Int

    /// `what` names the peer in the error when it prints no port.
    init(_ executable: String, _ arguments: [String], what: String) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let line = String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
        guard let port = Int(line.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "\(what) did not start: \(line)"])
        }
        self.port = port
    }

    deinit {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
