import Data
import Foundation
import TestSupport
import XCTest

final class ReaderTests: XCTestCase {
    private func idxImages(count: Int, rows: Int = 2, columns: Int = 2, magic: UInt32 = 2051) -> [UInt8] {
        bigEndian(magic) + bigEndian(UInt32(count)) + bigEndian(UInt32(rows)) + bigEndian(UInt32(columns))
            + (0..<(count * rows * columns)).map { UInt8($0 % 256) }
    }

    private func idxLabels(_ labels: [UInt8], magic: UInt32 = 2049) -> [UInt8] {
        bigEndian(magic) + bigEndian(UInt32(labels.count)) + labels
    }

    private func bigEndian(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(value >> (24 - 8 * UInt32($0)) & 0xff) } }

    private func assertError(_ body: @autoclosure () throws -> Any, mentions fragments: [String],
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            let text = "\(error)"
            for fragment in fragments { XCTAssertTrue(text.contains(fragment), "'\(text)' lacks '\(fragment)'", file: file, line: line) }
        }
    }

    func testRealMNISTTestSplit() throws {
        let directory = TestFiles.mnistDirectory
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory), "the MNIST test split is expected at \(directory) (or set DFKD_MNIST_DIR)")
        let set = try IDX.read(images: directory + "/t10k-images-idx3-ubyte.gz", labels: directory + "/t10k-labels-idx1-ubyte.gz", classes: 10)
        XCTAssertEqual(set.count, 10_000)
        XCTAssertEqual([set.height, set.width], [28, 28])
        XCTAssertEqual(set.classCounts, [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009])
        // Only test files: without --split the loader says what to do; with it, first/last.
        assertError(try DatasetKind.mnist.load(dataDirectory: directory, split: nil), mentions: ["--split", "test files"])
        let loaded = try DatasetKind.mnist.load(dataDirectory: directory, split: Split(train: 8000, eval: 2000))
        XCTAssertEqual(loaded.train.count, 8000)
        XCTAssertEqual(loaded.eval.count, 2000)
        XCTAssertEqual(loaded.train.imageShape, [1, 32, 32])
        XCTAssertEqual(Array(loaded.eval.labels), Array(set.labels[8000...]))
        XCTAssertEqual(Array(loaded.train.labels), Array(set.labels[..<8000]))
    }

    func testIDXRawAndGzipReadTheSame() throws {
        let directory = TestFiles.scratchDirectory()
        let images = idxImages(count: 3), labels = idxLabels([0, 2, 1])
        TestFiles.write(images, to: directory + "/images")
        TestFiles.write(labels, to: directory + "/labels")
        let raw = try IDX.read(images: directory + "/images", labels: directory + "/labels", classes: 3)
        XCTAssertEqual(raw.labels, [0, 2, 1])
        XCTAssertEqual(raw.pixels, Array(images[16...]))
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/bin/gzip")
        gzip.arguments = ["-k", directory + "/images"]
        try gzip.run()
        gzip.waitUntilExit()
        let unzipped = try IDX.read(images: directory + "/images.gz", labels: directory + "/labels", classes: 3)
        XCTAssertEqual(unzipped.pixels, raw.pixels)
    }

    func testIDXErrorsNameTheFileAndWhatWasExpected() {
        let directory = TestFiles.scratchDirectory()
        let images = directory + "/images", labels = directory + "/labels"
        TestFiles.write(idxLabels([0, 1]), to: labels)

        TestFiles.write(Array(idxImages(count: 2).dropLast(3)), to: images)
        assertError(try IDX.read(images: images, labels: labels, classes: 10), mentions: [images, "truncated", "expected 24"])

        TestFiles.write(idxImages(count: 2, magic: 2049), to: images)
        assertError(try IDX.read(images: images, labels: labels, classes: 10), mentions: [images, "magic number 2049", "expected 2051"])

        TestFiles.write(idxImages(count: 2), to: images)
        TestFiles.write(idxLabels([0, 12]), to: labels)
        assertError(try IDX.read(images: images, labels: labels, classes: 10), mentions: [labels, "label 12", "0..<10"])

        TestFiles.write(idxLabels([0]), to: labels)
        assertError(try IDX.read(images: images, labels: labels, classes: 10), mentions: [labels, "1 labels, expected 2"])

        TestFiles.write([0x1f, 0x8b, 8, 0, 0, 0], to: images)
        assertError(try IDX.read(images: images, labels: labels, classes: 10), mentions: [images, "gzip"])

        assertError(try IDX.read(images: directory + "/absent", labels: labels, classes: 10), mentions: ["absent", "does not exist"])
    }

    /// Sizes come from headers a damaged or hostile file controls: they are checked for
    /// overflow and bounds, and nothing is read or inflated past what the header declares.
    func testHeadersBoundWhatIsReadAndInflated() throws {
        let directory = TestFiles.scratchDirectory()
        let images = directory + "/images", labels = directory + "/labels"
        TestFiles.write(idxLabels([0, 1]), to: labels)
        // count x rows x columns would overflow 64 bits.
        TestFiles.write(bigEndian(2051) + bigEndian(UInt32.max) + bigEndian(UInt32.max) + bigEndian(UInt32.max), to: images)
        assertError(try IDX.read(images: images, labels: labels, classes: 10), mentions: [images, "header declares", "sides of 1 to 4096"])
        TestFiles.write(bigEndian(2051) + bigEndian(UInt32.max) + bigEndian(4096) + bigEndian(4096), to: images)
        assertError(try IDX.read(images: images, labels: labels, classes: 10), mentions: [images, "header declares 4294967295 images"])

        // Longer than declared, raw and as a gzip bomb (2 images declared, 64 MiB inflated).
        TestFiles.write(idxImages(count: 2) + [UInt8](repeating: 0, count: 100), to: images)
        assertError(try IDX.read(images: images, labels: labels, classes: 10), mentions: [images, "more than the 24 bytes its header declares"])
        let bomb = directory + "/bomb"
        FileManager.default.createFile(atPath: bomb, contents: Data(idxImages(count: 2) + [UInt8](repeating: 0, count: 64 << 20)))
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/bin/gzip")
        gzip.arguments = [bomb]
        try gzip.run()
        gzip.waitUntilExit()
        XCTAssertLessThan(try XCTUnwrap(FileManager.default.attributesOfItem(atPath: bomb + ".gz")[.size] as? Int), 1 << 20)
        assertError(try IDX.read(images: bomb + ".gz", labels: labels, classes: 10), mentions: ["bomb.gz", "more than the 24 bytes its header declares"])
        // A label file whose count disagrees is refused from its header, before its body.
        TestFiles.write(idxImages(count: 2), to: images)
        TestFiles.write(bigEndian(2049) + bigEndian(UInt32.max), to: labels)
        assertError(try IDX.read(images: images, labels: labels, classes: 10), mentions: [labels, "4294967295 labels, expected 2"])
    }

    func testCIFARRecordsAndErrors() throws {
        let directory = TestFiles.scratchDirectory()
        func record(_ labels: [UInt8], fill: UInt8) -> [UInt8] { labels + [UInt8](repeating: fill, count: 3072) }
        let ten = directory + "/test_batch.bin"
        TestFiles.write(record([3], fill: 7) + record([9], fill: 8), to: ten)
        let set = try CIFAR.read([ten], classes: 10)
        XCTAssertEqual(set.labels, [3, 9])
        XCTAssertEqual(set.pixels[3072], 8)
        XCTAssertEqual(set.imageShape, [3, 32, 32])

        let hundred = directory + "/test.bin"
        TestFiles.write(record([1, 57], fill: 1), to: hundred)
        XCTAssertEqual(try CIFAR.read([hundred], classes: 100).labels, [57])

        TestFiles.write(Array(record([3], fill: 7).dropLast()), to: ten)
        assertError(try CIFAR.read([ten], classes: 10), mentions: [ten, "3073-byte", "truncated"])
        TestFiles.write(record([11], fill: 7), to: ten)
        assertError(try CIFAR.read([ten], classes: 10), mentions: [ten, "label 11", "0..<10"])
        // Only part of the training batches present.
        TestFiles.write(record([1], fill: 0), to: directory + "/data_batch_1.bin")
        assertError(try DatasetKind.cifar10.load(dataDirectory: directory, split: nil), mentions: ["data_batch_2.bin", "does not exist"])
    }

    func testSplitParsingAndBounds() throws {
        XCTAssertEqual(try Split(parsing: "8000:2000"), Split(train: 8000, eval: 2000))
        for bad in ["8000", "a:b", "0:10", "10:-1"] {
            assertError(try Split(parsing: bad), mentions: ["--split", bad])
        }
        let directory = TestFiles.scratchDirectory()
        TestFiles.write(idxImages(count: 3, rows: 28, columns: 28), to: directory + "/t10k-images-idx3-ubyte")
        TestFiles.write(idxLabels([0, 1, 2]), to: directory + "/t10k-labels-idx1-ubyte")
        assertError(try DatasetKind.mnist.load(dataDirectory: directory, split: Split(train: 2, eval: 2)),
                    mentions: ["t10k-images-idx3-ubyte", "needs 2 + 2 images", "holds 3"])
        let loaded = try DatasetKind.mnist.load(dataDirectory: directory, split: Split(train: 2, eval: 1))
        XCTAssertEqual(loaded.train.labels, [0, 1])
        XCTAssertEqual(loaded.eval.labels, [2])
    }
}
