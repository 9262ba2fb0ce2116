import Foundation

/// What became of one message at the server.
public enum SendOutcome: Sendable, Equatable {
    /// 2xx: accepted.
    case sent(reply: String)
    /// 4xx, a dropped connection or a timeout: worth retrying.
    case transient(reply: String)
    /// 5xx: this recipient will not be accepted.
    case permanent(reply: String)
}

/// A failure of the whole server (cannot connect, authentication refused, TLS required but
/// not offered): the run stops and marks nothing sent.
public struct TransportUnavailable: Error, CustomStringConvertible, Sendable {
    public var reason: String
    public var description: String { reason }
}

/// Delivers messages. One session per concurrent worker, so an SMTP session's connection is
/// reused across that worker's messages.
public protocol MailTransport: Sendable {
    var name: String { get }
    func makeSession() throws(TransportUnavailable) -> any MailSession
}

public protocol MailSession: AnyObject {
    /// `reference` names the message locally (the file transport's file name).
    func send(_ message: [UInt8], from: String, to: String, reference: String) throws(TransportUnavailable)
        -> SendOutcome
    func close()
}

/// The embedded default: every message written as an `.eml` file under a directory
/// (`outbox/<week>/messages/`), atomically.
public struct FileTransport: MailTransport {
    public var directory: String
    public var name: String { "file" }

    public init(directory: String) {
        self.directory = directory
    }

    public func makeSession() throws(TransportUnavailable) -> any MailSession {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw TransportUnavailable(reason: "cannot create \(directory): \(error.localizedDescription)")
        }
        return Session(directory: directory)
    }

    final class Session: MailSession {
        let directory: String
        init(directory: String) { self.directory = directory }

        func send(_ message: [UInt8], from: String, to: String, reference: String) throws(TransportUnavailable)
            -> SendOutcome
        {
            let final = (directory as NSString).appendingPathComponent("\(reference).eml")
            let temporary = final + ".tmp"
            guard FileManager.default.createFile(atPath: temporary, contents: Data(message)),
                rename(temporary, final) == 0
            else {
                try? FileManager.default.removeItem(atPath: temporary)
                throw TransportUnavailable(reason: "cannot write \(final) (disk full or not writable?)")
            }
            return .sent(reply: "written to \(final)")
        }

        func close() {}
    }
}
