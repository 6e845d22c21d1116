import Distillation
import TensorEngine
import XCTest

/// Shifts and flips of generated images: each image's move depends on its global index only,
/// and moves keep the image's values, repeating the edges into the gap.
final class GeneratedAugmentationTests: XCTestCase {
    private let random = Philox(seed: 3, name: "moves")

    func testRanksMoveTheirRowsAsOneProcessMovesTheBatch() {
        let images = Tensor(shape: [6, 2, 5, 5], values: Philox(seed: 1, name: "x").normal(count: 300))
        let augmentation = GeneratedAugmentation(shift: 2, horizontalFlip: true)
        let whole = augmentation.apply(to: images, rows: 0..<6, random: random).toArray()
        let values = images.toArray()
        let first = augmentation.apply(to: Tensor(shape: [4, 2, 5, 5], values: Array(values[..<200])), rows: 0..<4, random: random)
        let second = augmentation.apply(to: Tensor(shape: [2, 2, 5, 5], values: Array(values[200...])), rows: 4..<6, random: random)
        XCTAssertEqual(first.toArray() + second.toArray(), whole)
        XCTAssertNotEqual(whole, values, "some image moved")
    }

    func testAMoveRepeatsTheEdgesAndAFlipMirrors() {
        // One 1x1x3x3 image: rows 1 2 3 / 4 5 6 / 7 8 9. Over many draws every move appears;
        // each result is one of the 9 shifts (x2 with flips) of the image.
        let image = Tensor(shape: [1, 1, 3, 3], values: (1...9).map(Float.init))
        func moved(dy: Int, dx: Int, flip: Bool) -> [Float] {
            (0..<3).flatMap { y in (0..<3).map { x -> Float in
                let sx = min(max(x - dx, 0), 2), sy = min(max(y - dy, 0), 2)
                return Float(sy * 3 + (flip ? 2 - sx : sx) + 1)
            } }
        }
        var seen = Set<[Float]>()
        let augmentation = GeneratedAugmentation(shift: 1, horizontalFlip: true)
        for draw in 0..<400 {
            let result = augmentation.apply(to: image, rows: 0..<1, random: Philox(seed: UInt64(draw), name: "moves")).toArray()
            let candidates = (-1...1).flatMap { dy in (-1...1).flatMap { dx in [false, true].map { moved(dy: dy, dx: dx, flip: $0) } } }
            XCTAssertTrue(candidates.contains(result), "\(result) is no shift or flip of the image")
            seen.insert(result)
        }
        XCTAssertEqual(seen.count, 18, "every shift, flipped and not, appears")
        XCTAssertEqual(GeneratedAugmentation(shift: 0, horizontalFlip: false).apply(to: image, rows: 0..<1, random: random).toArray(),
                       image.toArray())
    }
}
