import PostgresNIO

/// What went wrong with the PostgreSQL store, in words that say what to do. The exit status
/// separates a store that cannot be reached (74, try again later) from one that is set up
/// wrongly (78, fix the configuration).
public enum PostgresStoreError: Error, CustomStringConvertible, Sendable {
    case unreachable(PostgresLocation, String)
    case passwordRefused(PostgresLocation)
    case noSuchDatabase(PostgresLocation)
    case tls(PostgresLocation, String)
    /// The database holds tables newsletter did not create.
    case notOurs(PostgresLocation, tables: [String])
    /// Migrated by a newer newsletter than this one.
    case schemaTooNew(PostgresLocation, found: Int, known: Int)
    case connectionLost(PostgresLocation, String)
    /// A statement had no answer within `query_timeout`; its connection was closed.
    case timedOut(PostgresLocation, seconds: Int)
    /// A unique or foreign key constraint refused a write.
    case constraint(String)
    case server(sqlState: String, message: String)
    case other(String)

    init(_ error: any Error, location: PostgresLocation) {
        if let error = error as? PostgresStoreError {
            self = error
            return
        }
        if let begin = error as? PostgresStore.BeginFailed {
            self.init(begin.underlying, location: location)
            return
        }
        // The pool's own refusals (its error type is in an underscored module, so it is known
        // by name): shut down, or a minute of failed attempts to connect.
        if String(describing: type(of: error)) == "ConnectionPoolError" {
            self =
                "\(error)".contains("poolShutdown")
                ? .other(Self.closedStore) : .unreachable(location, "no connection could be made for a minute")
            return
        }
        guard let error = error as? PSQLError else {
            self = .other("\(error)")
            return
        }
        if error.code == .poolClosed {
            self = .other(Self.closedStore)
            return
        }
        if error.code == .server, let state = error.serverInfo?[.sqlState] {
            let message = error.serverInfo?[.message] ?? ""
            switch state {
            case "28P01", "28000": self = .passwordRefused(location)
            case "3D000": self = .noSuchDatabase(location)
            case "23505", "23503", "23502", "23514":
                self = .constraint(
                    "\(message)\(error.serverInfo?[.detail].map { " (\($0))" } ?? "")")
            case "57P01", "57P02", "57P03": self = .connectionLost(location, message)
            default: self = .server(sqlState: state, message: message)
            }
            return
        }
        if error.code == .connectionError {
            self = .unreachable(location, error.underlying.map { "\($0)" } ?? "\(error.code)")
        } else if Self.isConnectionLoss(error) {
            self = .connectionLost(location, "\(error.code)")
        } else if error.code == .sslUnsupported {
            self = .tls(location, "the server does not offer TLS (sslmode=\(location.tls.rawValue))")
        } else {
            self = .other("\(error.code): \(error.underlying.map { "\($0)" } ?? "")")
        }
    }

    static let closedStore = "the store was used after it stopped running (its connections are closed)"

    static func isConnectionLoss(_ error: any Error) -> Bool {
        let error = (error as? PostgresStore.BeginFailed)?.underlying ?? error
        if let error = error as? PSQLError {
            if [.serverClosedConnection, .clientClosedConnection, .uncleanShutdown].contains(error.code) {
                return true
            }
            if error.code == .server, let state = error.serverInfo?[.sqlState], state.hasPrefix("57P") { return true }
        }
        if let error = error as? PostgresStoreError, case .connectionLost = error { return true }
        return isTimeout(error)
    }

    static func isTimeout(_ error: any Error) -> Bool {
        if let error = error as? PostgresStoreError, case .timedOut = error { return true }
        return false
    }

    public var exitStatus: ExitStatus {
        switch self {
        case .unreachable, .connectionLost, .timedOut, .constraint, .server, .other: .storeError
        case .passwordRefused, .noSuchDatabase, .tls, .notOurs, .schemaTooNew: .configurationError
        }
    }

    public var description: String {
        switch self {
        case .unreachable(let location, let reason):
            "cannot reach the PostgreSQL server at \(location.host):\(location.port) (\(reason)); nothing was written. Check that it runs and that store.url names it."
        case .passwordRefused(let location):
            "the PostgreSQL server at \(location.host):\(location.port) refused the password of user \"\(location.username)\" for database \"\(location.database)\"; nothing was written. Set the password in store.url or NEWSLETTER_STORE_PASSWORD."
        case .noSuchDatabase(let location):
            "the PostgreSQL server at \(location.host):\(location.port) has no database \"\(location.database)\"; create it (createdb \(location.database)) or fix store.url."
        case .tls(let location, let reason):
            "TLS to the PostgreSQL server at \(location.host):\(location.port) failed: \(reason); check sslmode in store.url."
        case .notOurs(let location, let tables):
            "the database \"\(location.database)\" on \(location.host):\(location.port) holds tables newsletter did not create (\(tables.prefix(5).joined(separator: ", "))\(tables.count > 5 ? ", …" : "")); nothing was written. Point store.url at an empty database or at one newsletter created."
        case .schemaTooNew(let location, let found, let known):
            "the database \"\(location.database)\" has schema version \(found), newer than this newsletter knows (\(known)); nothing was written. Run the newer newsletter, or upgrade this one."
        case .connectionLost(let location, let reason):
            "the connection to the PostgreSQL server at \(location.host):\(location.port) was lost (\(reason)); what was not committed was not recorded. Run again."
        case .timedOut(let location, let seconds):
            "the PostgreSQL server at \(location.host):\(location.port) did not answer within \(seconds) s (query_timeout in store.url); the connection was closed and what was not committed was not recorded. Check the server, then run again."
        case .constraint(let message):
            "the store refused the write: \(message)"
        case .server(let state, let message):
            "the PostgreSQL server failed (SQLSTATE \(state)): \(message)"
        case .other(let reason):
            "the PostgreSQL store failed: \(reason)"
        }
    }
}
