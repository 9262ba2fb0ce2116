import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Where a webhook may be sent. Only http(s), and the host resolved with every address checked,
/// so a webhook cannot be used to probe the host's own network: loopback, link-local (the cloud
/// metadata service at 169.254.169.254), private and shared ranges are refused unless
/// `[webhooks] allow_private_targets` or `allowed_networks` say otherwise; unspecified,
/// multicast and broadcast addresses always are. Checked when an endpoint is added and again
/// before each delivery, which then connects to the address checked (`PinnedWebhookTarget`), so
/// a name that resolves elsewhere a second time (DNS rebinding) changes nothing.
public struct WebhookTargetPolicy: Sendable, Equatable {
    public var allowPrivateTargets = false
    /// Networks allowed even though private ("10.1.2.0/24", "127.0.0.1/32", "fd00::/8").
    public var allowedNetworks: [IPNetwork] = []

    public init(allowPrivateTargets: Bool = false, allowedNetworks: [IPNetwork] = []) {
        self.allowPrivateTargets = allowPrivateTargets
        self.allowedNetworks = allowedNetworks
    }

    /// The URL's parts, checked as text: nothing is resolved.
    public func parse(_ text: String) throws(WebhookTargetRefusal) -> WebhookURL {
        guard text.count <= 2000 else { throw .malformed("it is longer than 2,000 characters") }
        guard !text.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F }) else {
            throw .malformed("it holds a space or a control character")
        }
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased() else {
            throw .malformed("it is not an absolute URL")
        }
        guard scheme == "http" || scheme == "https" else { throw .notHTTP(scheme: scheme) }
        guard components.user == nil, components.password == nil else {
            throw .malformed("it carries credentials (user:password@); the signature authenticates the request")
        }
        guard var host = components.host, !host.isEmpty else { throw .malformed("it names no host") }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let port = components.port ?? (scheme == "https" ? 443 : 80)
        guard (1...65535).contains(port) else { throw .malformed("port \(port) is out of range") }
        return WebhookURL(text: text, scheme: scheme, host: host, port: port)
    }

    /// Resolves the host and checks every address it has: one refused address refuses the
    /// target (a name with one public and one private address would reach the private one half
    /// the time). Blocks for as long as the resolver: call it off the cooperative pool.
    public func pin(_ url: WebhookURL) throws(WebhookTargetRefusal) -> PinnedWebhookTarget {
        let addresses = try Self.resolve(url.host)
        for address in addresses {
            if let kind = address.refusedKind, !allows(address, kind) {
                throw .forbiddenAddress(host: url.host, address: address.description, kind: kind)
            }
        }
        return PinnedWebhookTarget(url: url, address: addresses[0])
    }

    /// `parse` and `pin` together: what `webhooks add` and each delivery check.
    public func check(_ text: String) throws(WebhookTargetRefusal) -> PinnedWebhookTarget {
        try pin(try parse(text))
    }

    private func allows(_ address: IPAddress, _ kind: IPAddress.Kind) -> Bool {
        if allowedNetworks.contains(where: { $0.contains(address) }) { return true }
        switch kind {
        case .loopback, .linkLocal, .privateNetwork, .sharedNetwork: return allowPrivateTargets
        case .unspecified, .multicast, .broadcast: return false
        }
    }

    static func resolve(_ host: String) throws(WebhookTargetRefusal) -> [IPAddress] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &list)
        guard status == 0, let first = list else {
            throw .unresolvable(host: host, reason: String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(list) }
        var addresses: [IPAddress] = []
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let current = entry {
            if let address = IPAddress(current.pointee.ai_addr), !addresses.contains(address) {
                addresses.append(address)
            }
            entry = current.pointee.ai_next
        }
        guard !addresses.isEmpty else { throw .unresolvable(host: host, reason: "no IPv4 or IPv6 address") }
        return addresses
    }
}

/// A webhook URL's parts, as checked.
public struct WebhookURL: Sendable, Equatable {
    public var text: String
    public var scheme: String
    public var host: String
    public var port: Int
}

/// A URL and the address its host was resolved to and checked: the transfer connects there.
public struct PinnedWebhookTarget: Sendable, Equatable {
    public var url: WebhookURL
    public var address: IPAddress

    /// libcurl's CURLOPT_CONNECT_TO entry: whatever host and port libcurl reads in the URL, it
    /// connects to this address, so its parser and ours cannot disagree about where it goes.
    var connectTo: String {
        let host = address.isIPv6 ? "[\(address)]" : address.description
        return "::\(host):\(url.port)"
    }
}

/// Why a URL is not taken as a webhook target.
public enum WebhookTargetRefusal: Error, CustomStringConvertible, Sendable, Equatable {
    case notHTTP(scheme: String)
    case malformed(String)
    case unresolvable(host: String, reason: String)
    case forbiddenAddress(host: String, address: String, kind: IPAddress.Kind)

    public var description: String {
        switch self {
        case .notHTTP(let scheme):
            "only http and https URLs are webhook targets, not \(scheme):"
        case .malformed(let reason):
            "the URL is not usable: \(reason)"
        case .unresolvable(let host, let reason):
            "\(host) does not resolve: \(reason)"
        case .forbiddenAddress(let host, let address, let kind):
            "\(host == address ? address : "\(host) resolves to \(address), which") is a \(kind.rawValue) address: refused, so a webhook cannot reach the server's own network (set [webhooks] allow_private_targets = true or allowed_networks to allow it)"
        }
    }
}

/// An IPv4 or IPv6 address, as bytes.
public struct IPAddress: Sendable, Equatable, CustomStringConvertible {
    public let bytes: [UInt8]

    public enum Kind: String, Sendable {
        case unspecified, loopback, multicast, broadcast
        case linkLocal = "link-local"
        case privateNetwork = "private"
        case sharedNetwork = "shared (carrier-grade NAT)"
    }

    public init?(_ text: String) {
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            bytes = withUnsafeBytes(of: &v4) { Array($0) }
        } else if inet_pton(AF_INET6, text, &v6) == 1 {
            bytes = withUnsafeBytes(of: &v6) { Array($0) }
        } else {
            return nil
        }
    }

    init?(_ socketAddress: UnsafeMutablePointer<sockaddr>?) {
        guard let socketAddress else { return nil }
        switch Int32(socketAddress.pointee.sa_family) {
        case AF_INET:
            bytes = socketAddress.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { pointer in
                withUnsafeBytes(of: pointer.pointee.sin_addr) { Array($0) }
            }
        case AF_INET6:
            bytes = socketAddress.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                withUnsafeBytes(of: pointer.pointee.sin6_addr) { Array($0) }
            }
        default:
            return nil
        }
    }

    init(bytes: [UInt8]) { self.bytes = bytes }

    public var isIPv6: Bool { bytes.count == 16 }

    public var description: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        var copy = bytes
        let family = isIPv6 ? AF_INET6 : AF_INET
        guard inet_ntop(family, &copy, &buffer, socklen_t(buffer.count)) != nil else { return "?" }
        return String(cString: buffer)
    }

    /// Why a webhook may not go here by default; nil for a public address.
    public var refusedKind: Kind? {
        if isIPv6 {
            // IPv4-mapped (::ffff:a.b.c.d) and the deprecated IPv4-compatible (::a.b.c.d): the
            // IPv4 address is where the packets go.
            if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF {
                return IPAddress(bytes: Array(bytes[12...])).refusedKind
            }
            if bytes[0..<12].allSatisfy({ $0 == 0 }) {
                if bytes[12..<15].allSatisfy({ $0 == 0 }) && bytes[15] <= 1 {
                    return bytes[15] == 0 ? .unspecified : .loopback
                }
                return IPAddress(bytes: Array(bytes[12...])).refusedKind
            }
            if bytes[0] == 0xFF { return .multicast }
            if bytes[0] == 0xFE && bytes[1] & 0xC0 == 0x80 { return .linkLocal }
            if bytes[0] & 0xFE == 0xFC { return .privateNetwork }
            return nil
        }
        let (a, b) = (bytes[0], bytes[1])
        if a == 0 { return .unspecified }
        if a == 127 { return .loopback }
        if a == 10 || (a == 172 && b & 0xF0 == 16) || (a == 192 && b == 168) { return .privateNetwork }
        if a == 169 && b == 254 { return .linkLocal }
        if a == 100 && b & 0xC0 == 64 { return .sharedNetwork }
        if a >= 224 && a <= 239 { return .multicast }
        if bytes == [255, 255, 255, 255] { return .broadcast }
        return nil
    }
}

/// An address range in CIDR notation, `10.1.2.0/24`.
public struct IPNetwork: Sendable, Equatable, CustomStringConvertible {
    public let address: IPAddress
    public let prefixLength: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let address = IPAddress(String(parts[0])) else { return nil }
        let maximum = address.bytes.count * 8
        if parts.count == 2 {
            guard let length = Int(parts[1]), (0...maximum).contains(length) else { return nil }
            prefixLength = length
        } else {
            prefixLength = maximum
        }
        self.address = address
    }

    public func contains(_ other: IPAddress) -> Bool {
        guard other.bytes.count == address.bytes.count else { return false }
        var remaining = prefixLength
        for (mine, theirs) in zip(address.bytes, other.bytes) where remaining > 0 {
            let bits = min(8, remaining)
            let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
            if mine & mask != theirs & mask { return false }
            remaining -= bits
        }
        return true
    }

    public var description: String { "\(address)/\(prefixLength)" }
}
