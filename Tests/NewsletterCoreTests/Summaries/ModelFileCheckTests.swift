import Foundation
import Testing

/// scripts/gguf-metadata.py, which scripts/build-runtime.sh runs on every model before caching
/// it: it reads a GGUF header and refuses a file whose architecture, name, quantization or chat
/// template differ from the pins. Tested on small GGUF headers written here.
struct ModelFileCheckTests {
    enum Value: Sendable {
        case string(String)
        case uint32(UInt32)
        case strings([String])
    }

    /// A GGUF v3 header with these key/value pairs and no tensors.
    static func gguf(_ pairs: [(String, Value)]) -> Data {
        var data = Data("GGUF".utf8)
        func u32(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) } }
        func u64(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) } }
        func string(_ text: String) {
            u64(UInt64(text.utf8.count))
            data.append(contentsOf: Array(text.utf8))
        }
        u32(3)
        u64(0)
        u64(UInt64(pairs.count))
        for (key, value) in pairs {
            string(key)
            switch value {
            case .string(let text):
                u32(8)
                string(text)
            case .uint32(let number):
                u32(4)
                u32(number)
            case .strings(let tokens):
                u32(9)
                u32(8)
                u64(UInt64(tokens.count))
                for token in tokens { string(token) }
            }
        }
        return data
    }

    static let qwenLike: [(String, Value)] = [
        ("general.architecture", .string("qwen2")), ("general.name", .string("Qwen2.5 Coder 1.5B Instruct GGUF")),
        ("general.file_type", .uint32(15)), ("tokenizer.ggml.tokens", .strings(["<|im_start|>", "a", "b"])),
        ("tokenizer.chat_template", .string("{% for message in messages %}<|im_start|>{% endfor %}")),
    ]

    static let pins = [
        "--expect", "general.architecture=qwen2", "--expect", "general.name=Qwen2.5 Coder 1.5B Instruct GGUF",
        "--expect", "general.file_type=15", "--expect", "tokenizer.chat_template=present",
    ]

    func check(_ pairs: [(String, Value)], _ arguments: [String] = pins) async throws -> (status: Int32, output: String)
    {
        let file = try TestPaths.temporaryDirectory().appendingPathComponent("model.gguf")
        try Self.gguf(pairs).write(to: file)
        return try await TestPaths.runPythonScript("scripts/gguf-metadata.py", [file.path] + arguments)
    }

    @Test func theHeaderOfThePinnedModelPassesAndIsPrinted() async throws {
        let result = try await check(Self.qwenLike)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("general.architecture=qwen2\n"))
        #expect(result.output.contains("general.file_type=15\n"))
        #expect(result.output.contains("tokenizer.chat_template=present ("))
    }

    @Test func anotherQuantizationOrArchitectureIsRefusedNamingTheKey() async throws {
        var other = Self.qwenLike
        other[2] = ("general.file_type", .uint32(7))
        other[0] = ("general.architecture", .string("llama"))
        let result = try await check(other)
        #expect(result.status == 1)
        #expect(result.output.contains("general.file_type is 7, expected 15"), "\(result.output)")
        #expect(result.output.contains("general.architecture is llama, expected qwen2"), "\(result.output)")
    }

    @Test func aBaseModelWithoutAChatTemplateIsRefused() async throws {
        let result = try await check(Array(Self.qwenLike.dropLast()))
        #expect(result.status == 1)
        #expect(result.output.contains("tokenizer.chat_template is absent, expected present"), "\(result.output)")
    }

    @Test func aFileThatIsNotGGUFIsRefused() async throws {
        let file = try TestPaths.temporaryDirectory().appendingPathComponent("model.gguf")
        try Data("<html>not a model</html>".utf8).write(to: file)
        let result = try await TestPaths.runPythonScript("scripts/gguf-metadata.py", [file.path] + Self.pins)
        #expect(result.status == 1)
        #expect(result.output.contains("invalid magic"), "\(result.output)")
    }
}
