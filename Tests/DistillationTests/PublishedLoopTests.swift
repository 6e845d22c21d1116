import Distillation
import Foundation
import NeuralNetwork
import TensorEngine
import TestSupport
import XCTest

/// The loop shapes and generator details the published methods differ by.
final class PublishedLoopTests: XCTestCase {
    /// DFAD steps the student first: its 5 steps take draws 0-4 and the generator step draw
    /// 5; the other methods draw the generator's batch first.
    func testStudentStepsFirstPutsTheGeneratorStepAfterTheStudentSteps() throws {
        for (studentFirst, generatorDraw) in [(true, UInt64(5)), (false, UInt64(0))] {
            var configuration = DistillationConfiguration(method: .dfad)
            XCTAssertTrue(configuration.studentStepsFirst, "DFAD's published loop")
            configuration.studentStepsFirst = studentFirst
            configuration.batchSize = 4
            configuration.generatorWidths = [8, 8, 4]
            configuration.noise = 8
            let teacher = LeNet5(inputChannels: 1, classes: 3).initialize(seed: 1)
            let student = LeNet5(inputChannels: 1, classes: 3, half: true).initialize(seed: 2)
            let run = DistillationRun(teacher: teacher, student: student, imageShape: [1, 32, 32], classes: 3, configuration: configuration)
            try run.runIteration(epoch: 0, iteration: 0)
            XCTAssertEqual(run.lastGenerated?.draw, generatorDraw, "student-steps-first \(studentFirst)")
        }
    }

    /// DAFL's generator has BatchNorm2d(C, 0.8) after its inner convolutions; the epsilon
    /// survives the generator file, so a saved generator draws what it drew in training.
    func testTheInnerEpsilonShapesTheGeneratorAndSurvivesItsFile() throws {
        let shape = Generator.Shape(noise: 8, widths: [8, 8, 4], channels: 1, classes: 3, innerEpsilon: 0.8)
        let generator = Generator(shape: shape, placement: .none).initialize(seed: 4)
        XCTAssertEqual(generator.norms.map { ($0 as! BatchNorm2d).epsilon }, [1e-5, 0.8, 0.8, 1e-5])
        let path = TestFiles.scratchDirectory() + "/generator.h5"
        try GeneratorFile.write(generator, provenance: [:], to: path)
        let loaded = try GeneratorFile.load(path)
        XCTAssertEqual(loaded.shape, shape)
        let z = Tensor.normal([6, 8], generator: Philox(seed: 5))
        let labels = [0, 1, 2, 0, 1, 2]
        XCTAssertEqual(withoutGradient { loaded(z, labels: labels) }.toArray(), withoutGradient { generator(z, labels: labels) }.toArray())
        // With DAFL's epsilon the images differ from those of the default one.
        let plain = Generator(shape: .init(noise: 8, widths: [8, 8, 4], channels: 1, classes: 3), placement: .none).initialize(seed: 4)
        XCTAssertNotEqual(withoutGradient { plain(z, labels: labels) }.toArray(), withoutGradient { generator(z, labels: labels) }.toArray())
    }
}
