import Data
import Distillation
import TensorEngine
import XCTest

/// The within-class diversity figure: the RMS per-pixel difference of two images of a class,
/// averaged over classes.
final class WithinClassDiversityTests: XCTestCase {
    /// Against the pairs counted one by one; copies of one image score 0; a class of one
    /// image is left out.
    func testItIsTheRootMeanSquareDifferenceOfEveryPairWithinAClass() throws {
        let random = Philox(seed: 5)
        let (count, pixels) = (9, 2 * 3 * 3)
        let values = random.normal(count: count * pixels)
        let labels = [0, 1, 0, 2, 1, 0, 1, 2, 3]
        var perClass: [Double] = []
        for label in 0..<3 {
            let members = labels.indices.filter { labels[$0] == label }
            var sum = 0.0, pairs = 0
            for (a, i) in members.enumerated() {
                for j in members[(a + 1)...] {
                    sum += (0..<pixels).reduce(0.0) { $0 + pow(Double(values[i * pixels + $1]) - Double(values[j * pixels + $1]), 2) }
                    pairs += 1
                }
            }
            perClass.append((sum / Double(pairs) / Double(pixels)).squareRoot())
        }
        let images = Tensor(shape: [count, 2, 3, 3], values: values)
        let measured = try XCTUnwrap(WithinClassDiversity.of(images, labels: labels))
        XCTAssertEqual(measured, perClass.reduce(0, +) / 3, accuracy: 1e-8 * measured)

        let copies = Tensor(shape: [4, 2, 3, 3], values: Array((0..<4).map { _ in Array(values[0..<pixels]) }.joined()))
        XCTAssertEqual(try XCTUnwrap(WithinClassDiversity.of(copies, labels: [0, 0, 1, 1])), 0, accuracy: 1e-6)
        XCTAssertNil(WithinClassDiversity.of(images, labels: [0, 1, 2, 3, 4, 5, 6, 7, 8]))
    }

    /// Real images of the built-in set differ within a class by about their pixels' spread.
    func testRealBuiltinImagesScoreTheirOwnVariety() throws {
        let set = BuiltinDataset.generate(0..<200, classes: 10, seed: 0)
        let diversity = try XCTUnwrap(WithinClassDiversity.of(set, normalization: DatasetKind.builtin.normalization, perClass: 16))
        XCTAssertGreaterThan(diversity, 0.5)
        XCTAssertLessThan(diversity, 2)
    }
}
