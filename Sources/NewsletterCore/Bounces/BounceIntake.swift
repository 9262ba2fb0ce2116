import Foundation
import Logging

/// What a fetch or an import did.
public struct BounceIntakeSummary: Sendable, Equatable {
    public var messages = 0
    /// Reports stored by this run, by kind.
    public var learnt: [BounceKind: Int] = [:]
    /// Already stored by an earlier run (a crash before the delete): not counted again.
    public var duplicates = 0
    /// Messages left where they were, each with where and why.
    public var refused: [String] = []
    /// Messages removed from the mailbox.
    public var deleted = 0

    public init() {}

    public var description: String {
        let kinds = BounceKind.allCases.compactMap { kind in learnt[kind].map { "\($0) \(kind.rawValue)" } }
        var text = "\(messages) message\(messages == 1 ? "" : "s")"
        if !kinds.isEmpty { text += ": " + kinds.joined(separator: ", ") }
        if duplicates > 0 { text += ", \(duplicates) already stored" }
        if !refused.isEmpty { text += ", \(refused.count) refused" }
        return text
    }

    mutating func add(_ outcome: BounceOutcome, at place: String) {
        messages += 1
        switch outcome {
        case .recorded(let bounces): for bounce in bounces { learnt[bounce.kind, default: 0] += 1 }
        case .duplicate: duplicates += 1
        case .refused(let reason): refused.append("\(place): \(reason)")
        }
    }
}

/// Hears about each message of a fetch or import.
public protocol BounceIntakeObserver: Sendable {
    func started(total: Int)
    func processed(_ place: String, outcome: String)
}

extension BounceProcessor {
    /// Reads the mailbox: every message is processed, and only what is stored (now or before)
    /// is deleted, after its transaction committed. A crash anywhere leaves the rest in the
    /// mailbox; the next fetch recognises what was stored already by its key.
    public func fetch(
        from client: MailboxClient, observer: (any BounceIntakeObserver)? = nil, logger: Logger
    ) async throws -> BounceIntakeSummary {
        let session = try client.connect()
        let messages = try session.list()
        observer?.started(total: messages.count)
        logger.info(
            "bounce fetch started",
            metadata: ["mailbox": "\(client.settings.displayURL)", "messages": "\(messages.count)"])
        var summary = BounceIntakeSummary()
        for message in messages {
            let place = "message \(message)"
            let outcome: Outcome
            do {
                outcome = try await process(try session.retrieve(message), source: .mailbox)
            } catch let error as MailboxError {
                summary.messages += 1
                summary.refused.append("\(place): \(error.reason)")
                observer?.processed(place, outcome: "not fetched: \(error.reason)")
                continue
            }
            summary.add(outcome, at: place)
            if outcome.stored {
                try session.delete(message)
                summary.deleted += 1
            } else if case .refused(let reason) = outcome {
                logger.warning("bounce refused", metadata: ["message": "\(message)", "reason": "\(reason)"])
            }
            observer?.processed(place, outcome: Self.describe(outcome))
        }
        try session.finish()
        logger.info(
            "bounce fetch finished",
            metadata: ["summary": "\(summary.description)", "deleted": "\(summary.deleted)"])
        return summary
    }

    /// Imports `.eml` files (one message each) and mbox files (many); a file that cannot be
    /// read or a message that is refused is named with its reason, the rest still processed.
    public func importFiles(_ paths: [String], observer: (any BounceIntakeObserver)? = nil) async throws
        -> BounceIntakeSummary
    {
        var summary = BounceIntakeSummary()
        for path in paths {
            guard let data = FileManager.default.contents(atPath: path) else {
                summary.messages += 1
                summary.refused.append("\(path): cannot be read")
                continue
            }
            let bytes = [UInt8](data)
            let messages = Mbox.isMbox(bytes) ? Mbox.split(bytes) : [(line: 1, bytes: bytes)]
            if messages.isEmpty {
                summary.messages += 1
                summary.refused.append("\(path): an empty file")
                continue
            }
            for message in messages {
                let place = messages.count > 1 || Mbox.isMbox(bytes) ? "\(path):\(message.line)" : path
                let outcome = try await process(message.bytes, source: .file)
                summary.add(outcome, at: place)
                observer?.processed(place, outcome: Self.describe(outcome))
            }
        }
        return summary
    }

    static func describe(_ outcome: Outcome) -> String {
        switch outcome {
        case .duplicate: "already stored"
        case .refused(let reason): "refused: \(reason)"
        case .recorded(let bounces):
            bounces.map { bounce in
                var text = "\(bounce.kind.rawValue) \(bounce.email ?? "(unknown sender)")"
                switch bounce.effect {
                case .markBounced: text += " → bounced"
                case .unsubscribe: text += " → unsubscribed"
                case .none: break
                }
                return text
            }.joined(separator: ", ")
        }
    }
}

/// mbox files (mboxo and mboxrd): messages separated by "From " lines.
enum Mbox {
    static func isMbox(_ bytes: [UInt8]) -> Bool { bytes.starts(with: Array("From ".utf8)) }

    /// Each message with the line its "From " separator is on.
    static func split(_ bytes: [UInt8]) -> [(line: Int, bytes: [UInt8])] {
        var messages: [(line: Int, bytes: [UInt8])] = []
        var current: [UInt8] = []
        var currentLine = 0
        var lineNumber = 0
        var position = 0
        let from = Array("From ".utf8)
        while position < bytes.count {
            let end = Bytes.lineEnd(in: bytes, from: position, to: bytes.count)
            lineNumber += 1
            let line = bytes[position..<end]
            if line.starts(with: from) {
                if currentLine > 0 { messages.append((currentLine, trimmed(current))) }
                current = []
                currentLine = lineNumber
            } else {
                // mboxrd: ">From " (and ">>From ") lost one ">" when written.
                var unquoted = line[...]
                if unquoted.first == 62, unquoted.drop(while: { $0 == 62 }).starts(with: from) {
                    unquoted = unquoted.dropFirst()
                }
                current += unquoted
            }
            position = end
        }
        if currentLine > 0 { messages.append((currentLine, trimmed(current))) }
        return messages.filter { !$0.bytes.isEmpty }
    }

    /// Without the empty line that separates a message from the next "From ".
    private static func trimmed(_ message: [UInt8]) -> [UInt8] {
        var message = message
        if message.last == 10 {
            message.removeLast()
            if message.last == 13 { message.removeLast() }
        }
        return message
    }
}
