import Foundation
import Interchange
import TestSupport
import XCTest

/// 1,000 mutations of the fixtures (flipped, overwritten, inserted and deleted bytes, cut
/// ends), read as PyTorch checkpoints and safetensors files: none crashes the reader, and
/// every refusal is an error naming the file.
final class FuzzTests: XCTestCase {
    func testMutatedFixturesNeverCrashTheReaders() throws {
        let fixtures = TorchCheckpointTests.fixtures
        let sources = try ["lenet5-half.pth", "lenet5-half-under-state_dict.pth", "wrn-16-1-float16.pth", "lenet5-half.safetensors"].map {
            ($0, try [UInt8](Data(contentsOf: URL(fileURLWithPath: fixtures + $0))))
        }
        let directory = TestFiles.scratchDirectory()
        var random = SplitMix64(seed: 2026)
        var refused = 0, read = 0
        for trial in 0..<1000 {
            let (name, original) = sources[trial % sources.count]
            var bytes = original
            // Most mutations aim at the first kilobytes, where the headers and the pickle are.
            func position() -> Int { Int(random.next() % UInt64(random.next() % 2 == 0 ? min(bytes.count, 2048) : bytes.count)) }
            for _ in 0..<(1 + Int(random.next() % 4)) {
                guard !bytes.isEmpty else { break }
                switch random.next() % 5 {
                case 0: bytes[position()] ^= UInt8(1 << (random.next() % 8))
                case 1: bytes[position()] = UInt8(truncatingIfNeeded: random.next())
                case 2: bytes.insert(UInt8(truncatingIfNeeded: random.next()), at: position())
                case 3: bytes.remove(at: position())
                default: bytes.removeLast(min(bytes.count, 1 + Int(random.next() % 4096)))
                }
            }
            let path = directory + "/\(trial)-" + name
            TestFiles.write(bytes, to: path)
            do {
                if name.hasSuffix(".safetensors") { _ = try Safetensors.read(path) } else { _ = try TorchCheckpoint.read(path) }
                read += 1
            } catch let error as InterchangeError {
                XCTAssertTrue(error.description.hasPrefix(path + ": "), "trial \(trial): \(error)")
                refused += 1
            } catch {
                XCTFail("trial \(trial): an error that does not name the file: \(error)")
            }
            try? FileManager.default.removeItem(atPath: path)
        }
        print("fuzz: \(refused) of 1000 mutated files refused, \(read) read")
        // Many mutations land in tensor data, which a zip's CRC-32 catches and safetensors cannot.
        XCTAssertGreaterThan(refused, 500, "\(refused) refused, \(read) read")
    }
}
