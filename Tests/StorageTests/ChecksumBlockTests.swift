import Foundation
import NeuralNetwork
import Storage
import TestSupport
import XCTest

/// Every HDF5 file dfkd writes carries a checksum block, checked before the HDF5 library
/// parses the file: any damaged byte or a cut is an error, never a crash of the library.
final class ChecksumBlockTests: XCTestCase {
    private func modelFile() throws -> (path: String, bytes: [UInt8]) {
        let path = TestFiles.scratchDirectory() + "/model.h5"
        let net = LeNet5(inputChannels: 1, classes: 10).initialize(seed: 1)
        try ModelFile.write(net, description: ModelDescription(architecture: .lenet5, classes: 10, inputShape: [1, 32, 32],
                                                               normalizationMean: [0.5], normalizationStd: [0.25]), to: path)
        return (path, try [UInt8](Data(contentsOf: URL(fileURLWithPath: path))))
    }

    private func assertRefused(_ path: String, saying fragment: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try ModelFile.load(path), file: file, line: line) { error in
            XCTAssertTrue("\(error)".contains(path) && "\(error)".contains(fragment), "\(error)", file: file, line: line)
        }
    }

    func testEveryDamagedByteAndCutIsRefused() throws {
        let (path, original) = try modelFile()
        XCTAssertTrue(String(decoding: original.prefix(16), as: UTF8.self) == "dfkd-checksum 1\n")
        XCTAssertNoThrow(try ModelFile.load(path))
        // One flipped bit at positions spread over the whole file, metadata and weights alike.
        for position in stride(from: 520, to: original.count, by: original.count / 40) {
            var damaged = original
            damaged[position] ^= 0x10
            TestFiles.write(damaged, to: path)
            assertRefused(path, saying: "is damaged: the CRC-32 of its HDF5 data is")
        }
        TestFiles.write(Array(original.prefix(original.count - 100)), to: path)
        assertRefused(path, saying: "(truncated)")
        var block = original
        block[3] ^= 0x01
        TestFiles.write(block, to: path)
        assertRefused(path, saying: "not DataFreeKD's checksum block")
    }

    /// Python's zlib reproduces the check as docs/FILE-FORMATS.md shows, and a file without
    /// the block (h5unjam's copy, another writer's file) is read unchecked.
    func testOtherToolsReadTheBlockAndFilesWithoutItAreRead() throws {
        let (path, original) = try modelFile()
        let script = """
            import sys, zlib
            data = open(sys.argv[1], "rb").read()
            fields = dict(line.split(" ", 1) for line in data[:512].rstrip(b"\\0").decode().splitlines()[1:])
            assert int(fields["bytes"]) == len(data) - 512 and int(fields["crc32"], 16) == zlib.crc32(data[512:])
            """
        let python = try Subprocess.run("/usr/bin/python3", ["-c", script, path])
        XCTAssertEqual(python.status, 0, python.output)
        let plain = path + ".plain.h5"
        let unjam = try Subprocess.run("/usr/bin/h5unjam", ["-i", path, "-o", plain])
        XCTAssertEqual(unjam.status, 0, unjam.output)
        XCTAssertEqual(try [UInt8](Data(contentsOf: URL(fileURLWithPath: plain))), Array(original[512...]))
        XCTAssertNoThrow(try ModelFile.load(plain))
    }
}
