import Data
import Foundation
import Distillation
import TensorEngine
import XCTest

/// `generator-output: bounded` keeps every generated pixel where a real one can be.
final class GeneratorOutputTests: XCTestCase {
    func testNormalisedPixelRangeIsWhereBlackAndWhiteGo() {
        let mnist = DatasetKind.mnist.normalization.pixelRange
        XCTAssertEqual(mnist.lowerBound, -0.1307 / 0.3081, accuracy: 1e-6)
        XCTAssertEqual(mnist.upperBound, (1 - 0.1307) / 0.3081, accuracy: 1e-6)
        // Three channels: the range every channel's real pixels share.
        let cifar = DatasetKind.cifar10.normalization.pixelRange
        let blacks: [Float] = [-0.4914 / 0.2023, -0.4822 / 0.1994, -0.4465 / 0.2010]
        let whites: [Float] = [(1 - 0.4914) / 0.2023, (1 - 0.4822) / 0.1994, (1 - 0.4465) / 0.2010]
        XCTAssertEqual(cifar.lowerBound, blacks.max()!, accuracy: 1e-6)
        XCTAssertEqual(cifar.upperBound, whites.min()!, accuracy: 1e-6)
    }

    /// generator.h5 keeps the range, so a loaded bounded generator draws the images it drew.
    func testTheGeneratorFileKeepsTheRange() throws {
        let generator = Generator(shape: .init(noise: 8, widths: [8, 8, 4], channels: 1, classes: 3), placement: .all).initialize(seed: 1)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("generator-range-\(getpid())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try GeneratorFile.write(generator, provenance: [:], to: directory + "/free.h5")
        XCTAssertNil(try GeneratorFile.load(directory + "/free.h5").outputRange)
        generator.outputRange = -0.25...2.75
        try GeneratorFile.write(generator, provenance: [:], to: directory + "/bounded.h5")
        let loaded = try GeneratorFile.load(directory + "/bounded.h5")
        XCTAssertEqual(loaded.outputRange, -0.25...2.75)
        let z = Tensor(shape: [6, 8], values: Philox(seed: 2, name: "z").normal(count: 48))
        let labels = (0..<6).map { $0 % 3 }
        XCTAssertEqual(loaded.drawAside(z, labels: labels).toArray(), generator.drawAside(z, labels: labels).toArray())
    }

    func testBoundedImagesStayInTheRangeAndKeepTheirOrder() {
        let generator = Generator(shape: .init(noise: 8, widths: [8, 8, 4], channels: 1, classes: 3), placement: .all).initialize(seed: 1)
        let z = Tensor(shape: [12, 8], values: Philox(seed: 2, name: "z").normal(count: 96))
        let labels = (0..<12).map { $0 % 3 }
        let free = generator.drawAside(z, labels: labels).toArray()
        generator.outputRange = -0.5...2.5
        let bounded = generator.drawAside(z, labels: labels).toArray()
        XCTAssertGreaterThan(free.map(Swift.abs).max() ?? 0, 1, "the free output reaches past the range")
        XCTAssertTrue(bounded.allSatisfy { (-0.5...2.5).contains($0) }, "a pixel left the range: \(bounded.min()!)...\(bounded.max()!)")
        for (f, b) in zip(free, bounded) {
            XCTAssertEqual(b, 1 + 1.5 * Float(Foundation.tanh(Double(f))), accuracy: 1e-5, "the free value through tanh onto the range")
        }
    }
}
