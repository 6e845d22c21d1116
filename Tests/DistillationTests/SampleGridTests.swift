import Data
import Distillation
import TensorEngine
import XCTest

final class SampleGridTests: XCTestCase {
    /// Images land in their class's row, at most `perClass` per row, with the normalisation
    /// undone; empty cells and gaps stay white.
    func testLayoutRowsAndPixelValues() {
        // Four 1x2x2 images with constant values; normalised with mean 0.5, std 0.25.
        let constants: [Float] = [-2, 0, 1, 2]
        let images = Tensor(shape: [4, 1, 2, 2], values: constants.flatMap { [Float](repeating: $0, count: 4) })
        let grid = SampleGrid.layout(images, rows: [1, 1, 1, 0], classes: 3, perClass: 2,
                                     normalization: Normalization(mean: [0.5], std: [0.25]))
        let gap = SampleGrid.gap
        XCTAssertEqual(grid.width, 2 * (2 + gap) + gap)
        XCTAssertEqual(grid.height, 3 * (2 + gap) + gap)
        func pixel(row: Int, column: Int) -> UInt8 { grid.pixels[(gap + row * (2 + gap)) * grid.width + gap + column * (2 + gap)] }
        XCTAssertEqual(pixel(row: 0, column: 0), 255, "2 * 0.25 + 0.5 = 1")
        XCTAssertEqual(pixel(row: 0, column: 1), 255, "empty cell")
        XCTAssertEqual(pixel(row: 1, column: 0), 0, "-2 * 0.25 + 0.5 clamps to 0")
        XCTAssertEqual(pixel(row: 1, column: 1), 128, "0 * 0.25 + 0.5")
        XCTAssertEqual(pixel(row: 2, column: 0), 255, "the third image of row 1 does not fit and row 2 stays empty")
        XCTAssertEqual(grid.pixels[0], 255, "gap")
    }
}
