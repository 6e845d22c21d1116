import Distillation
import NeuralNetwork
import TensorEngine
import XCTest

/// The student's weight average: an exponential moving average of every parameter and
/// running statistic, what a run evaluates and saves, and part of its checkpoints.
final class WeightAverageTests: XCTestCase {
    private func fill(_ model: Module, with value: Float) {
        for (_, tensor) in model.namedFloatState() { tensor.pointer.update(repeating: value, count: tensor.count) }
    }

    /// Weights set to 1, 2, 3, ... before each update give the recurrence's values exactly,
    /// with the decay growing from 1/10 towards its limit; the batch counters are copied.
    func testTheAverageFollowsTheWeightsWithAGrowingDecay() {
        let source = LeNet5(inputChannels: 3, classes: 4, half: true, batchNorm: true).initialize(seed: 1)
        fill(source, with: 0)
        let average = WeightAverage(of: source, into: LeNet5(inputChannels: 3, classes: 4, half: true, batchNorm: true), decay: 0.5)
        var expected: Double = 0
        for step in 0..<6 {
            fill(source, with: Float(step + 1))
            source.norms[0].batchesTracked.value = 10 + step
            let decay = min(0.5, Double(1 + step) / Double(10 + step))
            XCTAssertEqual(Double(average.nextDecay), decay, accuracy: 1e-7)
            average.update()
            expected = decay * expected + (1 - decay) * Double(step + 1)
            for (name, tensor) in average.model.namedFloatState() {
                XCTAssertEqual(Double(tensor.toArray().max()!), expected, accuracy: 1e-5, name)
                XCTAssertEqual(Double(tensor.toArray().min()!), expected, accuracy: 1e-5, name)
            }
            XCTAssertEqual((average.model as! LeNet5).norms[0].batchesTracked.value, 10 + step)
        }
        XCTAssertEqual(average.updates, 6)
        XCTAssertNotEqual(expected, 6, accuracy: 0.5, "the average lags the weights")
    }

    /// A run with student-ema evaluates the average, which differs from the trained weights,
    /// and its archive restores the average and its update count in another run.
    func testARunEvaluatesItsAverageAndArchivesIt() throws {
        var configuration = DistillationConfiguration(method: .cpsc)
        (configuration.batchSize, configuration.noise, configuration.generatorWidths) = (8, 16, [8, 8, 4])
        (configuration.iterationsPerEpoch, configuration.studentAverageDecay) = (2, 0.9)
        func makeRun() -> DistillationRun {
            let teacher = LeNet5(inputChannels: 3, classes: 4, batchNorm: true).initialize(seed: 1)
            return DistillationRun(teacher: teacher, student: LeNet5(inputChannels: 3, classes: 4, half: true).initialize(seed: 2),
                                   averagedStudent: LeNet5(inputChannels: 3, classes: 4, half: true), imageShape: [3, 32, 32],
                                   classes: 4, configuration: configuration)
        }
        let run = makeRun()
        _ = try run.runEpoch(0)
        let average = try XCTUnwrap(run.studentAverage)
        XCTAssertTrue((run.evaluatedStudent as AnyObject) === (average.model as AnyObject))
        XCTAssertEqual(average.updates, 2 * configuration.studentSteps)
        let trained = run.student.namedFloatState().map { $0.1.toArray() }
        let averaged = average.model.namedFloatState().map { $0.1.toArray() }
        XCTAssertNotEqual(trained, averaged)

        var archive = StateArchive()
        run.archive(into: &archive)
        let restored = makeRun()
        try restored.restore(from: archive)
        XCTAssertEqual(restored.studentAverage?.updates, average.updates)
        XCTAssertEqual(restored.evaluatedStudent.namedFloatState().map { $0.1.toArray() }, averaged)
    }
}
