import Foundation
import TensorEngine
import XCTest

/// Finite-difference checks of backward rules. The function's output is reduced to a scalar
/// by a fixed random projection, sum(f(x) * w), so every output element's gradient is tested.
public enum GradientCheck {
    public static func check(_ inputs: [Tensor], step: Float = 1e-2, tolerance: Float = 2e-2,
                             file: StaticString = #filePath, line: UInt = #line,
                             _ function: ([Tensor]) -> Tensor) {
        let probe = function(inputs)
        let weights = Tensor.uniform(probe.shape, low: -1, high: 1, generator: Philox(seed: 99, name: "probe")).toArray()
        func loss() -> Double {
            let values = withoutGradient { function(inputs).toArray() }
            return zip(values, weights).reduce(0) { $0 + Double($1.0) * Double($1.1) }
        }
        for input in inputs { input.zeroGradient() }
        let out = function(inputs)
        out.backward(gradient: Tensor(shape: out.shape, values: weights))
        for (index, input) in inputs.enumerated() where input.requiresGrad {
            guard let analytic = input.grad?.toArray() else {
                XCTFail("input \(index) received no gradient", file: file, line: line)
                continue
            }
            let values = input.pointer
            var worst: (Float, Int) = (0, -1)
            for element in 0..<input.count {
                let saved = values[element]
                values[element] = saved + step
                let plus = loss()
                values[element] = saved - step
                let minus = loss()
                values[element] = saved
                let numeric = Float((plus - minus) / Double(2 * step))
                let error = Swift.abs(numeric - analytic[element]) / max(1, Swift.abs(numeric))
                if error > worst.0 { worst = (error, element) }
                if error > tolerance {
                    XCTFail("input \(index) element \(element): analytic \(analytic[element]), numeric \(numeric)", file: file, line: line)
                    return
                }
            }
        }
    }

    /// A plain tensor of uniform values that takes part in gradients.
    public static func input(_ shape: [Int], seed: UInt64, low: Float = -1, high: Float = 1) -> Tensor {
        let t = Tensor.uniform(shape, low: low, high: high, generator: Philox(seed: seed))
        t.requiresGrad = true
        return t
    }
}
