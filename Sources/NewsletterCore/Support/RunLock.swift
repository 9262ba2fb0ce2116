import Foundation

/// An exclusive lock on a file (flock), held while the object lives. The kernel drops it when
/// the process dies, so a crashed run never blocks the next one.
public final class RunLock {
    private let descriptor: Int32
    public let path: String

    public enum Failure: Error, CustomStringConvertible {
        case held(String)
        case unavailable(String, String)

        public var description: String {
            switch self {
            case .held(let path):
                "another run holds \(path); wait for it to finish (it is released when that process exits)"
            case .unavailable(let path, let reason): "cannot lock \(path): \(reason)"
            }
        }
    }

    public init(path: String) throws(Failure) {
        self.path = path
        try? FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let descriptor = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw .unavailable(path, String(cString: strerror(errno))) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let reason = errno
            close(descriptor)
            if reason == EWOULDBLOCK { throw .held(path) }
            throw .unavailable(path, String(cString: strerror(reason)))
        }
        self.descriptor = descriptor
    }

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
