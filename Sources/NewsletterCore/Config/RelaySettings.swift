import Foundation
import TOMLKit

/// One `[[smtp.relays]]` entry: a relay the issue can go out through, and its place among the
/// others. `smtp.url` alone is one relay named `smtp`.
public struct RelaySettings: Sendable, Equatable {
    public var name: String
    /// `smtp://host:port` or `smtps://host:port`, without a password.
    public var url: String
    public var username: String?
    /// The environment variable holding its password (never the file).
    public var passwordEnvironment: String?
    /// Read from `passwordEnvironment` when the configuration is loaded.
    public var password: String?
    public var allowPlaintext = false
    public var caFile: String?
    /// Lower goes first; a higher number is a fallback.
    public var priority = 1
    public var weight = 1.0
    /// 0: none.
    public var messagesPerSecond = 0.0
    /// 0: no limit.
    public var messagesPerConnection = 0
    public var connections = 4

    public init(name: String, url: String) {
        self.name = name
        self.url = url
    }

    /// The transport's settings, with the timeouts every relay shares (`smtp.*_timeout_seconds`).
    func transportSettings(timeouts smtp: Configuration.SMTP) -> SMTPTransport.Settings {
        var settings = SMTPTransport.Settings(
            url: url, username: username, password: password, allowPlaintext: allowPlaintext)
        settings.connectTimeoutSeconds = smtp.connectTimeoutSeconds
        settings.commandTimeoutSeconds = smtp.commandTimeoutSeconds
        settings.messageTimeoutSeconds = smtp.messageTimeoutSeconds
        settings.caFile = caFile
        return settings
    }
}

extension Configuration.SMTP {
    /// The relays a send goes through: `[[smtp.relays]]`, or `smtp.url` as one relay named
    /// `smtp` with `mail.concurrency` connections; empty for the file transport.
    public func relays(concurrency: Int) -> [RelaySettings] {
        if !relays.isEmpty { return relays }
        guard let url else { return [] }
        var relay = RelaySettings(name: "smtp", url: url)
        relay.username = username
        relay.password = password
        relay.allowPlaintext = allowPlaintext
        relay.caFile = caFile
        relay.connections = concurrency
        return [relay]
    }

    /// Reads each relay's password from the variable it names; a variable named but not set is
    /// an error, before anything is sent.
    mutating func applyRelaySecrets(from environment: [String: String], file: String) throws(ConfigurationError) {
        for index in relays.indices {
            guard let variable = relays[index].passwordEnvironment else { continue }
            guard let password = environment[variable], !password.isEmpty else {
                throw .invalidValue(
                    file: file, key: "smtp.relays[\(index + 1)].password_env",
                    message:
                        "relay \"\(relays[index].name)\": the environment variable \(variable) is not set (it holds the relay's password)"
                )
            }
            relays[index].password = password
        }
    }
}

extension SettingsReader {
    static let relayKeys = [
        "name", "url", "username", "password_env", "allow_plaintext", "ca_file", "priority", "weight",
        "messages_per_second", "messages_per_connection", "connections",
    ]

    /// `[[smtp.relays]]`: an array of tables, each checked key by key like the rest; errors name
    /// the entry (`smtp.relays[2].weight`) and the relay.
    mutating func relays(smtpURL: String?) throws(ConfigurationError) -> [RelaySettings] {
        let key = "smtp.relays"
        consumed.insert(key)
        guard let value = values[key] else { return [] }
        guard value.type == .array, let array = value.array, !array.isEmpty else {
            throw invalid(key, "must be an array of tables ([[smtp.relays]]) with at least one relay")
        }
        if smtpURL != nil {
            throw invalid(key, "set either smtp.url (one relay) or [[smtp.relays]], not both")
        }
        var result: [RelaySettings] = []
        for (index, element) in array.enumerated() {
            let prefix = "\(key)[\(index + 1)]"
            guard element.type == .table, let table = element.table else {
                throw invalid(prefix, "must be a table with name and url")
            }
            var inner = SettingsReader(file: file, values: SettingsReader.flatten(table, prefix: prefix))
            guard let name = try inner.string("\(prefix).name", nonEmpty: true) else {
                throw invalid("\(prefix).name", "is required")
            }
            guard name.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "-_".unicodeScalars.contains($0)) }) else {
                throw invalid("\(prefix).name", "\"\(name)\": letters, digits, - and _ only (it names the relay in the ledger and /metrics)")
            }
            if result.contains(where: { $0.name == name }) {
                throw invalid("\(prefix).name", "\"\(name)\" is the name of an earlier relay too: each relay needs its own")
            }
            let relayKey = { (key: String) in "\(prefix).\(key)" }
            let about = "relay \"\(name)\""
            guard let url = try inner.string(relayKey("url"), nonEmpty: true) else {
                throw invalid(relayKey("url"), "\(about): is required (smtp://host:587 or smtps://host:465)")
            }
            guard let parsed = URLComponents(string: url), ["smtp", "smtps"].contains(parsed.scheme?.lowercased() ?? ""),
                parsed.host?.isEmpty == false
            else {
                throw invalid(relayKey("url"), "\(about): \"\(url)\" is not an smtp:// or smtps:// URL with a host")
            }
            if parsed.password != nil {
                throw invalid(
                    relayKey("url"), "\(about): the URL holds a password; name the environment variable that holds it with password_env")
            }
            var relay = RelaySettings(name: name, url: url)
            relay.username = try inner.string(relayKey("username"), nonEmpty: true)
            relay.passwordEnvironment = try inner.string(relayKey("password_env"), nonEmpty: true)
            relay.allowPlaintext = try inner.bool(relayKey("allow_plaintext")) ?? false
            relay.caFile = try inner.path(relayKey("ca_file"))
            relay.priority = try inner.integer(relayKey("priority"), in: 1...100) ?? relay.priority
            if let weight = try inner.number(relayKey("weight")) {
                guard weight > 0, weight.isFinite else {
                    throw invalid(relayKey("weight"), "\(about): \(weight) is not above 0 (its share among the relays of its priority)")
                }
                relay.weight = weight
            }
            relay.messagesPerSecond = Double(try inner.integer(relayKey("messages_per_second"), in: 0...100_000) ?? 0)
            relay.messagesPerConnection =
                try inner.integer(relayKey("messages_per_connection"), in: 0...1_000_000) ?? 0
            relay.connections = try inner.integer(relayKey("connections"), in: 1...64) ?? relay.connections
            for unknown in inner.values.keys.sorted() where !inner.consumed.contains(unknown) {
                throw .unknownKey(file: file, key: unknown, known: Self.relayKeys.map(relayKey))
            }
            result.append(relay)
        }
        return result
    }

    /// A number, integer or not.
    mutating func number(_ key: String) throws(ConfigurationError) -> Double? {
        consumed.insert(key)
        guard let value = values[key] else { return nil }
        if value.type == .int, let integer = value.int { return Double(integer) }
        guard value.type == .double, let double = value.double else {
            throw invalid(key, "must be a number, not \(value.type)")
        }
        return double
    }
}
