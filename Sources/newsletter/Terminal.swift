import Foundation
import NewsletterCore
import Synchronization

enum Terminal {
    /// Progress bars only when a person is watching standard error.
    static let isInteractive = isatty(STDERR_FILENO) == 1 && ProcessInfo.processInfo.environment["TERM"] != "dumb"

    static func printError(_ message: String) {
        FileHandle.standardError.write(Data("newsletter: error: \(message)\n".utf8))
    }

    static func writeError(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}

/// A one-line progress bar on standard error, redrawn in place, cleared before other output.
final class ProgressBar: Sendable {
    private struct State {
        var total = 0
        var done = 0
        var label = ""
    }

    private let state = Mutex(State())
    private let verb: String

    init(verb: String) {
        self.verb = verb
    }

    func add(total: Int) {
        state.withLock { $0.total += total }
        redraw()
    }

    func advance(_ label: String) {
        state.withLock {
            $0.done += 1
            $0.label = label
        }
        redraw()
    }

    /// Prints `line` on standard output above the bar.
    func print(_ line: String) {
        clear()
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
        redraw()
    }

    func clear() {
        Terminal.writeError("\r\u{1B}[2K")
    }

    private func redraw() {
        let (done, total, label) = state.withLock { ($0.done, $0.total, $0.label) }
        let width = 24
        let filled = total > 0 ? min(width, done * width / total) : 0
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        let name = label.count > 40 ? "…" + label.suffix(39) : label
        Terminal.writeError("\r\u{1B}[2K\(verb) \(bar) \(done)/\(total) \(name)")
    }
}
