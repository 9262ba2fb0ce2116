/// Bytes from the system's CSPRNG, eight per call to it: `UInt8.random` asks the generator (a
/// `getrandom` system call on Linux) once per byte, which made a claimed batch's tokens cost
/// about a hundred system calls per message.
enum RandomBytes {
    static func make(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        var out: [UInt8] = []
        out.reserveCapacity(count + 8)
        while out.count < count {
            let word = generator.next()
            withUnsafeBytes(of: word) { out += $0 }
        }
        out.removeLast(out.count - count)
        return out
    }
}
