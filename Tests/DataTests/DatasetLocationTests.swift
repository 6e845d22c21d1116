import Data
import Foundation
import TestSupport
import XCTest

/// Where the commands find a dataset's files without --data-dir: `$DFKD_DATA_DIR/NAME`, then
/// Debian's `/usr/share/datasets/NAME`, else an error saying how to get them.
final class DatasetLocationTests: XCTestCase {
    private func folder(_ path: String) -> String {
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    func testTheGivenDirectoryThenTheEnvironmentThenDebiansFolder() throws {
        let root = TestFiles.scratchDirectory()
        let collection = folder(root + "/collection/fashion-mnist"), debian = folder(root + "/debian/fashion-mnist")
        func find(given: String?, environment: [String: String]) throws -> String? {
            try DatasetLocation.directory(of: .fashionMNIST, given: given, environment: environment, debianRoot: root + "/debian")
        }
        XCTAssertEqual(try find(given: "/elsewhere", environment: [DatasetLocation.environmentVariable: root + "/collection"]), "/elsewhere")
        XCTAssertEqual(try find(given: nil, environment: [DatasetLocation.environmentVariable: root + "/collection"]), collection)
        XCTAssertEqual(try find(given: nil, environment: [:]), debian)
        // A collection without this dataset falls back to Debian's folder.
        XCTAssertEqual(try find(given: nil, environment: [DatasetLocation.environmentVariable: root + "/debian-less"]), debian)
        XCTAssertNil(try DatasetLocation.directory(of: .builtin, given: nil, environment: [:], debianRoot: root + "/debian"))
    }

    func testNoFolderNamesWhereItLookedAndHowToGetTheFiles() {
        let root = TestFiles.scratchDirectory()
        let environment = [DatasetLocation.environmentVariable: root + "/collection"]
        XCTAssertThrowsError(try DatasetLocation.directory(of: .fashionMNIST, given: nil, environment: environment, debianRoot: root + "/debian")) {
            let text = "\($0)"
            for fragment in [root + "/collection/fashion-mnist", root + "/debian/fashion-mnist", "--data-dir", "DFKD_DATA_DIR",
                             "apt-get install dataset-fashion-mnist"] {
                XCTAssertTrue(text.contains(fragment), "'\(text)' lacks '\(fragment)'")
            }
        }
        XCTAssertThrowsError(try DatasetLocation.directory(of: .mnist, given: nil, environment: [:], debianRoot: root + "/debian")) {
            XCTAssertTrue("\($0)".contains("no Debian package ships mnist"), "\($0)")
        }
    }

    /// The set scripts/setup.sh installs (Debian's dataset-fashion-mnist), found with no option.
    func testDebiansFashionMNISTIsFoundAndReadInFull() throws {
        let set = try DatasetKind.fashionMNIST.load(dataDirectory: nil, split: nil)
        XCTAssertEqual(set.train.count, 60_000)
        XCTAssertEqual(set.eval.count, 10_000)
        XCTAssertEqual(set.train.imageShape, [1, 32, 32])
        XCTAssertEqual(set.eval.classCounts, [Int](repeating: 1000, count: 10))
        XCTAssertEqual(set.train.classCounts, [Int](repeating: 6000, count: 10))
    }

    /// `--dataset mnist --data-dir D` reads any IDX files under MNIST's names, of any count.
    func testAnyIDXFilesUnderMNISTsNames() throws {
        let directory = TestFiles.scratchDirectory()
        func bigEndian(_ value: Int) -> [UInt8] { (0..<4).map { UInt8(value >> (24 - 8 * $0) & 0xff) } }
        for (prefix, count) in [("train", 37), ("t10k", 11)] {
            TestFiles.write(bigEndian(2051) + bigEndian(count) + bigEndian(28) + bigEndian(28) + (0..<(count * 784)).map { UInt8($0 % 251) },
                            to: directory + "/\(prefix)-images-idx3-ubyte")
            TestFiles.write(bigEndian(2049) + bigEndian(count) + (0..<count).map { UInt8($0 % 10) }, to: directory + "/\(prefix)-labels-idx1-ubyte")
        }
        for kind in [DatasetKind.mnist, .fashionMNIST] {
            let set = try kind.load(dataDirectory: directory, split: nil)
            XCTAssertEqual([set.train.count, set.eval.count], [37, 11])
            XCTAssertEqual(Array(set.eval.labels), (0..<11).map { $0 % 10 })
        }
        // A split beyond the file, up to the integers' limit, is refused without summing past it.
        for split in [Split(train: 30, eval: 8), Split(train: Int.max, eval: 1), Split(train: 1, eval: Int.max)] {
            XCTAssertThrowsError(try DatasetKind.mnist.load(dataDirectory: directory, split: split)) { error in
                XCTAssertTrue("\(error)".contains("needs \(split.train) + \(split.eval) images, the file holds 37"), "\(error)")
            }
        }
    }
}
