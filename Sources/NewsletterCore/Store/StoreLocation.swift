import Foundation

/// Where the store lives: the embedded SQLite file (the default), or a PostgreSQL database that
/// several `newsletter` processes, on several hosts, may share.
public enum StoreLocation: Sendable, Equatable, CustomStringConvertible {
    case sqlite(path: String)
    case postgres(PostgresLocation)

    /// Printable: a PostgreSQL password is masked.
    public var description: String {
        switch self {
        case .sqlite(let path): path
        case .postgres(let location): location.description
        }
    }
}

/// A PostgreSQL database named by a `postgresql://user[:password]@host[:port]/database[?sslmode=…]`
/// URL (`store.url`, or `NEWSLETTER_STORE_URL`), the password also from `NEWSLETTER_STORE_PASSWORD`.
public struct PostgresLocation: Sendable, Equatable, CustomStringConvertible {
    /// libpq's `sslmode` words, as far as they mean something here.
    public enum TLSMode: String, Sendable, Equatable, CaseIterable {
        /// Never TLS (a server on loopback or a UNIX socket).
        case disable
        /// TLS when the server offers it, unverified (libpq's default).
        case prefer
        /// TLS or no connection; the certificate is not verified (as libpq's `require`).
        case require
        /// TLS, the certificate verified against the system's (or `sslrootcert`'s) CAs and the host name.
        case verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    public var tls: TLSMode
    /// `sslrootcert=PATH`: the CA file for `verify-full`.
    public var rootCertificate: String?
    /// `connect_timeout=SECONDS` (libpq's word): how long to wait for a connection.
    public var connectTimeout: Int
    /// `query_timeout=SECONDS`: how long one statement may go unanswered before its connection
    /// is closed and the command fails (a stopped server or a silent network would otherwise
    /// hold it for ever). Long enough for the biggest statement newsletter sends.
    public var queryTimeout: Int
    /// `lease_seconds=SECONDS`: how long a sender's claim on ledger rows lasts unless renewed
    /// (it renews at half of it while it works). A sender that died or stalled longer than
    /// this loses its rows to the others; what it had in flight may then go out twice.
    public var leaseSeconds: Int

    public static let defaultConnectTimeout = 10
    public static let defaultQueryTimeout = 120
    public static let defaultLeaseSeconds = 300

    public init(
        host: String, port: Int = 5432, username: String, password: String? = nil, database: String,
        tls: TLSMode = .prefer, rootCertificate: String? = nil, connectTimeout: Int = defaultConnectTimeout,
        queryTimeout: Int = defaultQueryTimeout, leaseSeconds: Int = defaultLeaseSeconds
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.tls = tls
        self.rootCertificate = rootCertificate
        self.connectTimeout = connectTimeout
        self.queryTimeout = queryTimeout
        self.leaseSeconds = leaseSeconds
    }

    /// Parses `url`; `passwordFallback` is used when the URL carries none. The error says what
    /// is wrong with the URL, without repeating its password.
    public static func parse(_ url: String, passwordFallback: String? = nil) throws(StoreLocationError)
        -> PostgresLocation
    {
        guard let components = URLComponents(string: url) else {
            throw .malformed("not a URL; expected postgresql://user:password@host:port/database")
        }
        guard let scheme = components.scheme?.lowercased(), ["postgresql", "postgres"].contains(scheme) else {
            throw .malformed(
                "the scheme must be postgresql:// (got \(components.scheme.map { "\($0)://" } ?? "none"))")
        }
        guard let host = components.host, !host.isEmpty else { throw .malformed("no host") }
        if let port = components.port, !(1...65535).contains(port) { throw .malformed("port \(port) is out of range") }
        guard let user = components.user, !user.isEmpty else {
            throw .malformed("no user name (postgresql://USER@\(host)/…)")
        }
        let database = String(components.path.drop { $0 == "/" })
        guard !database.isEmpty, !database.contains("/") else {
            throw .malformed("no database name (postgresql://…@\(host)/DATABASE)")
        }
        var location = PostgresLocation(
            host: host, port: components.port ?? 5432, username: user.removingPercentEncoding ?? user,
            password: components.password.map { $0.removingPercentEncoding ?? $0 } ?? passwordFallback,
            database: database.removingPercentEncoding ?? database)
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let mode = TLSMode(rawValue: item.value ?? "") else {
                    throw .malformed(
                        "sslmode \"\(item.value ?? "")\" is not one of \(TLSMode.allCases.map(\.rawValue).joined(separator: ", "))"
                    )
                }
                location.tls = mode
            case "sslrootcert":
                location.rootCertificate = item.value
            case "connect_timeout":
                location.connectTimeout = try seconds(item)
            case "query_timeout":
                location.queryTimeout = try seconds(item)
            case "lease_seconds":
                location.leaseSeconds = try seconds(item)
            default:
                throw .malformed(
                    "unknown parameter \"\(item.name)\" (known: sslmode, sslrootcert, connect_timeout, query_timeout, lease_seconds)"
                )
            }
        }
        return location
    }

    private static func seconds(_ item: URLQueryItem) throws(StoreLocationError) -> Int {
        guard let value = item.value, let seconds = Int(value), (1...86_400).contains(seconds) else {
            throw .malformed("\(item.name) \"\(item.value ?? "")\" is not a number of seconds from 1 to 86400")
        }
        return seconds
    }

    /// The URL with the password masked: what `config` and the logs show.
    public var description: String {
        var components = URLComponents()
        components.scheme = "postgresql"
        components.user = username
        components.password = password == nil ? nil : "****"
        components.host = host
        components.port = port
        components.path = "/" + database
        var items = [URLQueryItem(name: "sslmode", value: tls.rawValue)]
        if connectTimeout != Self.defaultConnectTimeout {
            items.append(URLQueryItem(name: "connect_timeout", value: String(connectTimeout)))
        }
        if queryTimeout != Self.defaultQueryTimeout {
            items.append(URLQueryItem(name: "query_timeout", value: String(queryTimeout)))
        }
        if leaseSeconds != Self.defaultLeaseSeconds {
            items.append(URLQueryItem(name: "lease_seconds", value: String(leaseSeconds)))
        }
        components.queryItems = items
        return components.string ?? "postgresql://\(host)/\(database)"
    }
}

public enum StoreLocationError: Error, Equatable, CustomStringConvertible {
    case malformed(String)

    public var description: String {
        switch self {
        case .malformed(let reason): reason
        }
    }
}

extension Configuration {
    public enum StoreEnvironment {
        /// Wins over `store.url`.
        public static let url = "NEWSLETTER_STORE_URL"
        /// Used when the URL carries no password.
        public static let password = "NEWSLETTER_STORE_PASSWORD"
    }

    /// Where the commands open the store: `store.url` (or `NEWSLETTER_STORE_URL`) when set,
    /// else the SQLite file at `store.path`.
    public var store: StoreLocation {
        storeURL.map { .postgres($0) } ?? .sqlite(path: databasePath)
    }
}

extension Configuration {
    /// `NEWSLETTER_STORE_URL` wins over `store.url`; `NEWSLETTER_STORE_PASSWORD` fills a URL
    /// without a password.
    mutating func applyStoreEnvironment(_ environment: [String: String]) throws(ConfigurationError) {
        let password = environment[StoreEnvironment.password].flatMap { $0.isEmpty ? nil : $0 }
        if let url = environment[StoreEnvironment.url], !url.isEmpty {
            do {
                storeURL = try PostgresLocation.parse(url, passwordFallback: password)
            } catch {
                throw .invalidValue(file: "environment", key: StoreEnvironment.url, message: error.description)
            }
        } else if storeURL != nil, storeURL?.password == nil {
            storeURL?.password = password
        }
    }
}

extension SettingsReader {
    mutating func storeURL() throws(ConfigurationError) -> PostgresLocation? {
        guard let url = try string("store.url", nonEmpty: true) else { return nil }
        do {
            return try PostgresLocation.parse(url)
        } catch {
            throw invalid("store.url", error.description)
        }
    }
}
