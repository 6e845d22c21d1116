import NeuralNetwork
import TensorEngine
import XCTest

/// An optimizer restored from its archived state continues exactly as the one that wrote it.
final class OptimizerStateTests: XCTestCase {
    /// Three steps of `make`'s optimizer on a small model, one optimizer throughout, against
    /// one step, the state archived and restored into a fresh model and optimizer, two more.
    private func checkResume(_ make: (FlatParameters) -> Optimizer) throws {
        func model() -> Linear { Linear(4, 3).initialize(seed: 5) }
        let x = Tensor.normal([6, 4], generator: Philox(seed: 6))
        func step(_ layer: Linear, _ optimizer: Optimizer) {
            optimizer.zeroGradients()
            (layer(x).squared()).sum().backward()
            optimizer.step()
        }
        let whole = model(), wholeOptimizer = make(FlatParameters(whole.namedParameters()))
        for _ in 0..<3 { step(whole, wholeOptimizer) }

        let first = model(), firstOptimizer = make(FlatParameters(first.namedParameters()))
        step(first, firstOptimizer)
        var state = StateArchive()
        first.archive(into: &state, group: "model")
        firstOptimizer.archive(into: &state, group: "optimizer")
        let resumed = model(), resumedOptimizer = make(FlatParameters(resumed.namedParameters()))
        try resumed.restore(from: state, group: "model")
        try resumedOptimizer.restore(from: state, group: "optimizer")
        for _ in 0..<2 { step(resumed, resumedOptimizer) }
        XCTAssertEqual(resumed.namedFloatState().map { $0.1.toArray() }, whole.namedFloatState().map { $0.1.toArray() })
        XCTAssertEqual(resumedOptimizer.stepCount, 3)
    }

    func testSGDWithMomentumResumesExactly() throws {
        try checkResume { SGD(parameters: $0, learningRate: 0.1, momentum: 0.9, weightDecay: 1e-3, nesterov: true) }
    }

    func testAdamResumesExactly() throws {
        try checkResume { Adam(parameters: $0, learningRate: 0.01, weightDecay: 1e-3) }
    }

    /// Adam's moments restored into SGD, or of another parameter count, are refused.
    func testAnotherOptimizersStateIsRefused() throws {
        let layer = Linear(4, 3).initialize(seed: 5)
        let adam = Adam(parameters: FlatParameters(layer.namedParameters()))
        adam.zeroGradients()
        layer(Tensor.normal([2, 4], generator: Philox(seed: 1))).sum().backward()
        adam.step()
        var state = StateArchive()
        adam.archive(into: &state, group: "optimizer")
        let sgd = SGD(parameters: FlatParameters(Linear(4, 3).namedParameters()), learningRate: 0.1, momentum: 0.9)
        XCTAssertThrowsError(try sgd.restore(from: state, group: "optimizer")) { XCTAssertTrue("\($0)".contains("unexpected optimizer/exp_avg")) }
        let wider = Adam(parameters: FlatParameters(Linear(5, 3).namedParameters()))
        XCTAssertThrowsError(try wider.restore(from: state, group: "optimizer")) { XCTAssertTrue("\($0)".contains("holds 15 values, expected 18")) }
    }
}
