/// Lower-case base32 (RFC 4648's alphabet, lower case, no padding): tokens and ids that survive
/// case folding (a mail local part) and need no escaping in a URL. Only whole 5-bit groups are
/// written: 20 bytes give 32 characters, 10 give 16, 8 give 12 (60 of their bits).
enum Base32 {
    static let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567")

    static func lowercase(_ bytes: some Sequence<UInt8>) -> String {
        var bits = 0
        var value = 0
        var out = ""
        for byte in bytes {
            value = value << 8 | Int(byte)
            bits += 8
            while bits >= 5 {
                bits -= 5
                out.append(alphabet[(value >> bits) & 31])
            }
            value &= (1 << bits) - 1
        }
        return out
    }
}
