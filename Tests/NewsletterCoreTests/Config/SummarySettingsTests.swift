import Foundation
import Testing

@testable import NewsletterCore

/// `[summaries]` and `[[summaries.endpoints]]`: values, defaults, and unknown keys named.
struct SummarySettingsTests {
    @Test func theDefaultsAreTheLocalRuntimeThenTheGrammarStepInTheBuildScriptsCacheLayout() throws {
        let settings = try Configuration.parse("").summaries
        #expect(settings.enabled && settings.local && settings.grammarFallback && !settings.strict)
        #expect(settings.endpoints.isEmpty && settings.attempts == 3 && settings.seed == 42)
        let paths = settings.runtimePaths(environment: ["HOME": "/home/ada"])
        #expect(paths.server == "/home/ada/.cache/newsletter/llama-server-0.3.36/bin/llama-server")
        #expect(paths.model == "/home/ada/.cache/newsletter/models/qwen2.5-coder-1.5b-instruct-q4_k_m-0.2.0.gguf")
        let moved = settings.runtimePaths(environment: ["HOME": "/h", "NEWSLETTER_CACHE": "/c"])
        #expect(moved.server == "/c/llama-server-0.3.36/bin/llama-server")
        let named = settings.runtimePaths(environment: [
            "NEWSLETTER_LLAMA_SERVER": "/x/ls", "NEWSLETTER_MODEL": "/x/m.gguf",
        ])
        #expect(named == RuntimePaths(server: "/x/ls", model: "/x/m.gguf"))
    }

    @Test func theBuildScriptPinsTheVersionsTheDefaultsUse() throws {
        let script = try String(
            contentsOf: TestPaths.repository.appendingPathComponent("scripts/build-runtime.sh"), encoding: .utf8)
        #expect(script.contains("LLAMA_CPP_PYTHON_VERSION=\(RuntimePaths.llamaCppPythonVersion)\n"))
        #expect(script.contains("SMOLLM2_PACKAGE_VERSION=\(RuntimePaths.smolLM2PackageVersion)\n"))
        #expect(script.contains("QWEN_PACKAGE_VERSION=\(RuntimePaths.qwenPartsPackageVersion)\n"))
        // The file names the presets resolve to are the ones the script writes.
        #expect(ModelPreset.qwen25Coder15B.fileName == "qwen2.5-coder-1.5b-instruct-q4_k_m-0.2.0.gguf")
        #expect(script.contains("QWEN_PATH=$MODEL_DIR/qwen2.5-coder-1.5b-instruct-q4_k_m-$QWEN_PACKAGE_VERSION.gguf"))
        #expect(ModelPreset.smolLM2135M.fileName == "smollm2-135m-instruct-q4_1-0.1.2.gguf")
        #expect(script.contains("SMOLLM2_PATH=$MODEL_DIR/smollm2-135m-instruct-q4_1-$SMOLLM2_PACKAGE_VERSION.gguf"))
    }

    @Test func aPresetNameSelectsTheCachedModelAndAnythingElseIsAPath() throws {
        let home = ["HOME": "/home/ada"]
        let small = try Configuration.parse("[summaries]\nmodel = \"smollm2-135m\"").summaries
        #expect(small.model == "smollm2-135m")
        #expect(
            small.runtimePaths(environment: home).model
                == "/home/ada/.cache/newsletter/models/smollm2-135m-instruct-q4_1-0.1.2.gguf")
        let named = try Configuration.parse("[summaries]\nmodel = \"qwen2.5-coder-1.5b\"").summaries
        #expect(named.runtimePaths(environment: home).model == RuntimePaths.defaults(environment: home).model)
        let file = try Configuration.parse("[summaries]\nmodel = \"/m/phi.gguf\"").summaries
        #expect(file.runtimePaths(environment: home).model == "/m/phi.gguf")
        #expect(throws: ConfigurationError.self) { try Configuration.parse("[summaries]\nmodel = \"smollm2\"") }
        do {
            _ = try Configuration.parse("[summaries]\nmodel = \"smollm2\"")
        } catch {
            #expect(error.description.contains("smollm2-135m") && error.description.contains("summaries.model"))
        }
    }

    @Test func aFullSectionWithEndpointsIsRead() throws {
        let configuration = try Configuration.parse(
            """
            [summaries]
            strict = true
            model = "models/smollm3-3b.gguf"
            threads = 2
            attempts = 2
            max_words = 90

            [[summaries.endpoints]]
            name = "gateway"
            base_url = "https://llm.example.com/v1"
            model = "qwen2.5-7b-instruct"
            api_key_env = "GATEWAY_KEY"
            timeout_seconds = 20
            retries = 1
            requests_per_minute = 30

            [[summaries.endpoints]]
            name = "lan"
            base_url = "http://10.0.0.5:8080"
            model = "llama"
            """)
        let settings = configuration.summaries
        #expect(settings.strict && settings.threads == 2 && settings.attempts == 2 && settings.maximumWords == 90)
        #expect(settings.model == "models/smollm3-3b.gguf")
        #expect(settings.endpoints.count == 2)
        let gateway = settings.endpoints[0]
        #expect(gateway.name == "gateway" && gateway.baseURL == "https://llm.example.com")
        #expect(gateway.model == "qwen2.5-7b-instruct" && gateway.apiKeyEnvironment == "GATEWAY_KEY")
        #expect(gateway.timeoutSeconds == 20 && gateway.retries == 1 && gateway.requestsPerMinute == 30)
        #expect(settings.endpoints[1].apiKeyEnvironment == nil)
        let chain = SummaryChain.configured(settings, store: nil, environment: [:]).chain
        #expect(chain.providers.map(\.name) == ["local", "gateway", "lan", "local-grammar"])
    }

    @Test func anAPIKeyIsNeverSentOverPlainHTTPPastLoopback() throws {
        func endpoint(_ url: String) -> String {
            "[[summaries.endpoints]]\nname = \"e\"\nbase_url = \"\(url)\"\nmodel = \"m\"\napi_key_env = \"KEY\"\n"
        }
        #expect(throws: ConfigurationError.self) { try Configuration.parse(endpoint("http://llm.example.com/v1")) }
        do {
            _ = try Configuration.parse(endpoint("http://10.0.0.5:8080"))
            Issue.record("an API key over http to another host was accepted")
        } catch {
            #expect("\(error)".contains("summaries.endpoints[1].base_url") && "\(error)".contains("clear text"))
        }
        #expect(try Configuration.parse(endpoint("http://127.0.0.1:8080")).summaries.endpoints.count == 1)
        #expect(try Configuration.parse(endpoint("https://llm.example.com/v1")).summaries.endpoints.count == 1)
    }

    @Test func unknownKeysAreErrorsNamingTheKey() {
        #expect(throws: ConfigurationError.self) { try Configuration.parse("[summaries]\nstrikt = true") }
        do {
            _ = try Configuration.parse("[summaries]\nstrikt = true")
        } catch {
            guard case .unknownKey(_, let key, let known) = error else { Issue.record("\(error)"); return }
            #expect(key == "summaries.strikt" && known.contains("summaries.strict"))
        }
        do {
            _ = try Configuration.parse(
                "[[summaries.endpoints]]\nname = \"a\"\nbase_url = \"http://h\"\nmodel = \"m\"\napi_key = \"sk-oops\"")
            Issue.record("an unknown endpoint key was accepted")
        } catch {
            guard case .unknownKey(_, let key, let known) = error else { Issue.record("\(error)"); return }
            #expect(key == "summaries.endpoints[1].api_key")
            #expect(known.contains("summaries.endpoints[1].api_key_env"))
        }
    }

    @Test func badValuesNameTheirKey() {
        let cases: [(String, String)] = [
            ("[summaries]\nattempts = 0", "summaries.attempts"),
            ("[summaries]\nmin_words = 50\nmax_words = 40", "summaries.min_words"),
            ("[[summaries.endpoints]]\nname = \"a\"\nmodel = \"m\"", "summaries.endpoints[1].base_url"),
            (
                "[[summaries.endpoints]]\nname = \"a\"\nbase_url = \"ftp://h\"\nmodel = \"m\"",
                "summaries.endpoints[1].base_url"
            ),
            ("[summaries]\nendpoints = \"x\"", "summaries.endpoints"),
        ]
        for (text, key) in cases {
            do {
                _ = try Configuration.parse(text)
                Issue.record("accepted: \(text)")
            } catch {
                guard case .invalidValue(_, let named, _) = error else { Issue.record("\(error)"); continue }
                #expect(named == key, "\(text)")
            }
        }
    }

    @Test func disabledMeansNoModelAtAll() throws {
        let settings = try Configuration.parse("[summaries]\nenabled = false").summaries
        let (chain, supervisor) = SummaryChain.configured(settings, store: nil)
        #expect(chain.providers.isEmpty && supervisor == nil)
    }
}
