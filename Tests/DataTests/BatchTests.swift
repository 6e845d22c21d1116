import Data
import NeuralNetwork
import TensorEngine
import TestSupport
import XCTest

final class BatchTests: XCTestCase {
    /// One 1 x 4 x 4 image whose pixel values are their positions.
    private let ramp = ImageSet(pixels: (0..<16).map { UInt8($0) }, labels: [0], channels: 1, height: 4, width: 4, classes: 1, source: "ramp")
    private let identity = Normalization(mean: [0], std: [1.0 / 255])

    func testNormalisationAndEvaluationOrder() {
        let source = BatchSource(ramp, batchSize: 8, normalization: Normalization(mean: [0.5], std: [0.25]), training: false)
        let batch = source.batch(0, epoch: 0, order: source.order(epoch: 0))
        XCTAssertEqual(batch.images.shape, [1, 1, 4, 4])
        XCTAssertEqual(batch.images.toArray()[15], (15 / 255 - 0.5) / 0.25, accuracy: 1e-6)
        XCTAssertEqual(source.batchesPerEpoch, 1)
    }

    func testCropShiftsWithZeroBorderAndFlipMirrors() {
        var sawShift = false, sawFlip = false
        for seed in 0..<40 {
            let source = BatchSource(ramp, batchSize: 1, normalization: identity,
                                     augmentation: Augmentation(cropPadding: 1, horizontalFlip: true), seed: UInt64(seed), training: true)
            let image = source.batch(0, epoch: 0, order: [0]).images.toArray().map { Int($0.rounded()) }
            // Each output row is a (possibly mirrored) shifted row of the ramp, or zero border.
            for candidateFlip in [false, true] {
                for dy in -1...1 {
                    for dx in -1...1 {
                        let expected = (0..<16).map { i -> Int in
                            let (y, x) = (i / 4 + dy, (candidateFlip ? 3 - i % 4 : i % 4) + dx)
                            return y >= 0 && y < 4 && x >= 0 && x < 4 ? y * 4 + x : 0
                        }
                        if expected == image {
                            sawShift = sawShift || dx != 0 || dy != 0
                            sawFlip = sawFlip || candidateFlip
                        }
                    }
                }
            }
            XCTAssertTrue(image.contains { $0 != 0 })
        }
        XCTAssertTrue(sawShift && sawFlip, "40 seeds should produce shifted and mirrored crops")
    }

    func testSeededOrderIsAPermutationAndRepeats() {
        let set = BuiltinDataset.generate(0..<100, classes: 4, seed: 0)
        let source = BatchSource(set, batchSize: 32, normalization: DatasetKind.builtin.normalization, seed: 7, training: true)
        XCTAssertEqual(source.batchesPerEpoch, 3)
        let first = source.order(epoch: 1)
        XCTAssertEqual(first.sorted(), Array(0..<100))
        XCTAssertEqual(first, source.order(epoch: 1))
        XCTAssertNotEqual(first, source.order(epoch: 2))
        XCTAssertNotEqual(first, Array(0..<100))
    }

    /// A rank's share of an augmented batch is that slice of the whole batch.
    func testRowsOfABatchAreItsSlice() {
        let set = BuiltinDataset.generate(0..<40, classes: 4, seed: 0)
        let source = BatchSource(set, batchSize: 10, normalization: DatasetKind.builtin.normalization,
                                 augmentation: Augmentation(cropPadding: 2, horizontalFlip: true), seed: 3, training: true)
        let order = source.order(epoch: 2)
        let whole = source.batch(1, epoch: 2, order: order)
        let share = source.batch(1, epoch: 2, order: order, rows: 4..<7)
        let imageSize = 3 * 32 * 32
        XCTAssertEqual(share.labels, Array(whole.labels[4..<7]))
        XCTAssertEqual(share.images.toArray(), Array(whole.images.toArray()[(4 * imageSize)..<(7 * imageSize)]))
    }

    func testDigitsArePaddedTo32() {
        let digit = ImageSet(pixels: [UInt8](repeating: 9, count: 28 * 28), labels: [3], channels: 1, height: 28, width: 28, classes: 10, source: "d")
        let padded = digit.padded(to: 32)
        XCTAssertEqual(padded.imageShape, [1, 32, 32])
        XCTAssertEqual(padded.pixels[0], 0)
        XCTAssertEqual(padded.pixels[2 * 32 + 2], 9)
        XCTAssertEqual(padded.pixels.filter { $0 == 9 }.count, 28 * 28)
    }
}
