import Foundation
import TestSupport
import XCTest

/// Mutated IDX, model and settings files fed to dfkd: every outcome must be success or a
/// clear error with status 1 (an "Error:" line), never a signal, a trap or a hang. The
/// suite runs a few seconds of mutations; scripts/fuzz.sh N runs N (DFKD_FUZZ_MUTATIONS),
/// DFKD_FUZZ_SEED picks other ones, and each failing input is kept for a rerun by hand.
final class FuzzTests: XCTestCase {
    private typealias Runs = ShortDistillation

    /// One kind of input: how to mutate it and the command that reads the mutation.
    private struct Target: Sendable {
        let name: String
        let original: [UInt8]
        let mutate: @Sendable (inout Mutator, [UInt8]) -> [UInt8]
        /// Writes the mutated bytes under a fresh directory and returns the arguments of dfkd.
        let command: @Sendable (_ bytes: [UInt8], _ directory: String) -> [String]
    }

    private struct Outcome {
        let target: String, index: Int, status: Int32, output: String, input: String
    }

    /// The outcomes of the workers, counted under a lock.
    private final class Tally: @unchecked Sendable {
        let lock = NSLock()
        var statuses: [String: [Int32: Int]] = [:]
        var failures: [Outcome] = []
    }

    func testMutatedFilesGiveSuccessOrAClearError() throws {
        let environment = ProcessInfo.processInfo.environment
        let mutations = environment["DFKD_FUZZ_MUTATIONS"].flatMap(Int.init) ?? 120
        let seed = environment["DFKD_FUZZ_SEED"].flatMap(UInt64.init) ?? 20261201
        let work = TestFiles.scratchDirectory()
        let targets = try makeTargets(in: work)
        let tally = Tally()
        // Two at a time: the machine's cores, each mutation its own process.
        DispatchQueue.concurrentPerform(iterations: 2) { worker in
            for index in stride(from: worker, to: mutations, by: 2) {
                let target = targets[index % targets.count]
                var mutator = Mutator(seed: seed &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15)
                let bytes = target.mutate(&mutator, target.original)
                let directory = work + "/\(index)"
                try! FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                let arguments = target.command(bytes, directory)
                let (status, output) = (try? Subprocess.run(DFKDCommand.binary, arguments, timeout: 60)) ?? (-1, "could not start")
                let clear = status == 0 || (status == 1 && output.contains("Error:") && !Self.crashSigns.contains { output.contains($0) })
                tally.lock.withLock {
                    tally.statuses[target.name, default: [:]][status, default: 0] += 1
                    if !clear {
                        tally.failures.append(Outcome(target: target.name, index: index, status: status, output: output,
                                                input: directory + " (dfkd " + arguments.joined(separator: " ") + ")"))
                    } else {
                        try? FileManager.default.removeItem(atPath: directory)
                    }
                }
            }
        }
        let summary = tally.statuses.sorted { $0.key < $1.key }.map { name, statuses in
            "\(name): " + statuses.sorted { $0.key < $1.key }.map { "\($0.value) x status \($0.key)" }.joined(separator: ", ")
        }.joined(separator: "; ")
        print("fuzz: \(mutations) mutations from seed \(seed): \(summary)")
        for failure in tally.failures.sorted(by: { $0.index < $1.index }).prefix(10) {
            XCTFail("mutation \(failure.index) of the \(failure.target): status \(failure.status), input kept in \(failure.input):\n"
                    + String(failure.output.suffix(1500)))
        }
    }

    private static let crashSigns = ["Fatal error", "Backtrace", "Segmentation fault", "core dumped", "Illegal instruction", "Assertion"]

    private func makeTargets(in work: String) throws -> [Target] {
        // MNIST-layout IDX files of 128 images (raw, and gzipped: the inflater is read too).
        var random = Mutator(seed: 7)
        let count = 128
        let images = bigEndian(2051) + bigEndian(UInt32(count)) + bigEndian(28) + bigEndian(28) + (0..<(count * 784)).map { _ in random.byte() }
        let labels = bigEndian(2049) + bigEndian(UInt32(count)) + (0..<count).map { _ in UInt8(random.below(10)) }
        let gzipped = try gzip(images, in: work)
        func idx(_ imagesName: String, _ mutatedIsImages: Bool) -> @Sendable (_ bytes: [UInt8], _ directory: String) -> [String] {
            { bytes, directory in
                TestFiles.write(mutatedIsImages ? bytes : images, to: directory + "/" + imagesName)
                TestFiles.write(mutatedIsImages ? labels : bytes, to: directory + "/t10k-labels-idx1-ubyte")
                return ["train-teacher", "--dataset", "mnist", "--data-dir", directory, "--split", "64:64", "--model", "lenet5",
                        "--epochs", "1", "--batch", "64", "--checkpoint-minutes", "0", "--out", directory + "/model.h5"]
            }
        }
        let model = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Runs.teacher)))
        let settings = try String(contentsOfFile: TestFiles.repositoryRoot + "/configs/cpsc.yaml", encoding: .utf8)
        return [
            Target(name: "IDX images", original: images, mutate: { $0.mutateBinary($1) }, command: idx("t10k-images-idx3-ubyte", true)),
            Target(name: "IDX labels", original: labels, mutate: { $0.mutateBinary($1) }, command: idx("t10k-images-idx3-ubyte", false)),
            Target(name: "gzipped IDX images", original: gzipped, mutate: { $0.mutateBinary($1) },
                   command: idx("t10k-images-idx3-ubyte.gz", true)),
            Target(name: "model file", original: model, mutate: { $0.mutateBinary($1) }, command: { bytes, directory in
                TestFiles.write(bytes, to: directory + "/model.h5")
                return ["eval", "--model-file", directory + "/model.h5", "--dataset", "builtin", "--split", "64:64"]
            }),
            Target(name: "settings file", original: Array(settings.utf8), mutate: { $0.mutateText($1) }, command: { bytes, directory in
                TestFiles.write(bytes, to: directory + "/settings.yaml")
                return ["show-config", "--config", directory + "/settings.yaml"]
            }),
        ]
    }

    private func bigEndian(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(value >> (24 - 8 * UInt32($0)) & 0xff) } }

    private func gzip(_ bytes: [UInt8], in directory: String) throws -> [UInt8] {
        let path = directory + "/images"
        TestFiles.write(bytes, to: path)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = ["-n", path]
        try process.run()
        process.waitUntilExit()
        return try [UInt8](Data(contentsOf: URL(fileURLWithPath: path + ".gz")))
    }
}

/// Mutations of bytes and of YAML text, from a seeded generator (SplitMix64) so that a
/// failing mutation can be made again from its seed.
struct Mutator {
    private var generator: SplitMix64

    init(seed: UInt64) { generator = SplitMix64(seed: seed) }

    mutating func next() -> UInt64 { generator.next() }

    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(max(bound, 1))) }
    mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: next()) }

    /// Values that find the edges of sizes and counts.
    private static let interestingWords: [UInt32] = [0, 1, 2, 7, 28, 255, 256, 4096, 65535, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF]

    /// One to four of: flipped bits, random bytes, an interesting 32-bit word, a cut, a
    /// repeated or removed run of bytes. Headers get most of the attention: their offsets
    /// are where sizes live.
    mutating func mutateBinary(_ original: [UInt8]) -> [UInt8] {
        var bytes = original
        for _ in 0..<(1 + below(4)) where !bytes.isEmpty {
            let position = below(4) == 0 ? below(bytes.count) : below(min(bytes.count, 2048))
            switch below(6) {
            case 0: bytes[position] ^= 1 << UInt8(below(8))
            case 1: for offset in 0..<min(1 + below(16), bytes.count - position) { bytes[position + offset] = byte() }
            case 2:
                let word = Self.interestingWords[below(Self.interestingWords.count)]
                for offset in 0..<min(4, bytes.count - position) { bytes[position + offset] = UInt8(truncatingIfNeeded: word >> (24 - 8 * UInt32(offset))) }
            case 3: bytes = Array(bytes.prefix(below(bytes.count)))
            case 4:
                let run = Array(bytes[position..<min(bytes.count, position + 1 + below(4096))])
                bytes.insert(contentsOf: run, at: position)
            default: bytes.removeSubrange(position..<min(bytes.count, position + 1 + below(256)))
            }
        }
        return bytes
    }

    private static let interestingValues = [
        "-1", "0", "-0", "1e308", "-1e308", ".nan", ".inf", "-.inf", "99999999999999999999", "2.5", "true", "null", "''", "[]", "{}",
        "[0, 0, 0]", "[-1, 1, 1]", "[1, 2]", "&a [1, 2, 3]", "*a", "!!binary aGk=", "\"\\u0000\"", "1_000", "0x10", "65537", "1e-45",
    ]

    /// Line-level changes to YAML: a value replaced by an edge value, a line removed,
    /// repeated, indented or cut, a key renamed, or bytes flipped.
    mutating func mutateText(_ original: [UInt8]) -> [UInt8] {
        var lines = String(decoding: original, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for _ in 0..<(1 + below(3)) where !lines.isEmpty {
            let index = below(lines.count)
            switch below(7) {
            case 0, 1:
                if let colon = lines[index].firstIndex(of: ":") {
                    lines[index] = String(lines[index][...colon]) + " " + Self.interestingValues[below(Self.interestingValues.count)]
                }
            case 2: lines.remove(at: index)
            case 3: lines.insert(lines[index], at: index)
            case 4: lines[index] = String(repeating: " ", count: 1 + below(4)) + lines[index]
            case 5: lines[index] = String(lines[index].prefix(below(lines[index].count + 1)))
            default:
                var bytes = Array(lines[index].utf8)
                if !bytes.isEmpty { bytes[below(bytes.count)] = byte() }
                lines[index] = String(decoding: bytes, as: UTF8.self)
            }
        }
        return Array(lines.joined(separator: "\n").utf8)
    }
}
