import Foundation
import TensorEngine
import XCTest

/// Reference values written by Tests/Goldens/make_goldens.py with PyTorch.
public struct GoldenTensor: Decodable {
    public let shape: [Int]
    public let values: [Float]

    public init(shape: [Int], values: [Float]) { (self.shape, self.values) = (shape, values) }

    public var tensor: Tensor { Tensor(shape: shape, values: values) }

    public func parameter() -> Tensor {
        let t = tensor
        t.requiresGrad = true
        return t
    }
}

public enum Goldens {
    public static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Goldens")

    public static func load<T: Decodable>(_ type: T.Type, from file: String) throws -> T {
        let data = try Data(contentsOf: directory.appendingPathComponent(file))
        return try JSONDecoder().decode(T.self, from: data)
    }

    /// Normwise relative agreement: max |actual - expected| <= tolerance * max |expected|
    /// (element-wise relative error is meaningless where the reference crosses zero).
    /// `scaleFloor` bounds the scale from below, for references that are zero in exact
    /// arithmetic and hold only rounding noise.
    public static func assertClose(_ actual: [Float], _ expected: GoldenTensor, tolerance: Float = 1e-4,
                                   scaleFloor: Float = 1e-6, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        guard actual.count == expected.values.count else {
            XCTFail("\(what): \(actual.count) values, PyTorch has \(expected.values.count) (shape \(expected.shape))", file: file, line: line)
            return
        }
        let scale = max(expected.values.map { Swift.abs($0) }.max() ?? 0, scaleFloor)
        var worst: Float = 0, worstIndex = 0
        for (i, (a, e)) in zip(actual, expected.values).enumerated() where Swift.abs(a - e) > worst {
            worst = Swift.abs(a - e)
            worstIndex = i
        }
        if !(worst <= tolerance * scale) {
            XCTFail("\(what): element \(worstIndex) is \(actual[worstIndex]), PyTorch \(expected.values[worstIndex]); " +
                    "max difference \(worst) exceeds \(tolerance) x \(scale)", file: file, line: line)
        }
    }
}

/// One op's reference case: inputs, outputs, the upstream gradients w, and the gradients of
/// sum(output * w) for each differentiable input; labels and running statistics where the op
/// takes them.
public struct GoldenCase: Decodable {
    public let name: String
    public let inputs: [String: GoldenTensor]
    public let outputs: [GoldenTensor]
    public let upstreams: [GoldenTensor]
    public let gradients: [String: GoldenTensor]
    public let labels: [Int]?
    public let running_mean: GoldenTensor?
    public let running_var: GoldenTensor?
}

public struct GoldenCaseFile: Decodable {
    public let cases: [GoldenCase]
}

extension Goldens {
    /// Runs `op` on the case's inputs and compares its outputs and input gradients.
    public static func check(_ golden: GoldenCase, file: StaticString = #filePath, line: UInt = #line,
                             _ op: ([String: Tensor]) -> [Tensor]) {
        var inputs: [String: Tensor] = [:]
        for (name, value) in golden.inputs {
            inputs[name] = golden.gradients[name] != nil ? value.parameter() : value.tensor
        }
        let outputs = op(inputs)
        XCTAssertEqual(outputs.count, golden.outputs.count, golden.name, file: file, line: line)
        var total: Tensor?
        for (index, (output, expected)) in zip(outputs, golden.outputs).enumerated() {
            XCTAssertEqual(output.shape, expected.shape, "\(golden.name) output \(index) shape", file: file, line: line)
            assertClose(output.toArray(), expected, "\(golden.name) output \(index)", file: file, line: line)
            let term = (output * golden.upstreams[index].tensor).sum()
            total = total.map { $0 + term } ?? term
        }
        total?.backward()
        for (name, expected) in golden.gradients {
            guard let gradient = inputs[name]?.grad else {
                XCTFail("\(golden.name): no gradient for \(name)", file: file, line: line)
                continue
            }
            assertClose(gradient.toArray(), expected, "\(golden.name) gradient of \(name)", file: file, line: line)
        }
    }
}
