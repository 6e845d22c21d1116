import Foundation
import TensorEngine

/// Adam as PyTorch's torch.optim.Adam (L2 weight decay added to the gradient, not AdamW):
/// m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g^2,
/// p -= (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
public final class Adam: Optimizer {
    public var beta1: Float
    public var beta2: Float
    public var epsilon: Float
    public var weightDecay: Float

    public init(parameters: FlatParameters, learningRate: Float = 1e-3, betas: (Float, Float) = (0.9, 0.999),
                epsilon: Float = 1e-8, weightDecay: Float = 0) {
        beta1 = betas.0
        beta2 = betas.1
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        super.init(parameters: parameters, learningRate: learningRate)
    }

    public convenience init(module: Module, learningRate: Float = 1e-3, betas: (Float, Float) = (0.9, 0.999),
                            epsilon: Float = 1e-8, weightDecay: Float = 0) {
        self.init(parameters: FlatParameters(module.namedParameters()), learningRate: learningRate, betas: betas,
                  epsilon: epsilon, weightDecay: weightDecay)
    }

    override class var bufferNames: [String] { ["exp_avg", "exp_avg_sq"] }

    override func update(range: Range<Int>, values p: UnsafeMutablePointer<Float>, gradients g: UnsafeMutablePointer<Float>) {
        let m = buffer("exp_avg"), v = buffer("exp_avg_sq")
        let t = Float(stepCount)
        let correction1 = 1 - Foundation.pow(beta1, t)
        let correction2Root = (1 - Foundation.pow(beta2, t)).squareRoot()
        let stepSize = learningRate / correction1
        for i in range {
            let grad = g[i] + weightDecay * p[i]
            m[i] = beta1 * m[i] + (1 - beta1) * grad
            v[i] = beta2 * v[i] + (1 - beta2) * grad * grad
            p[i] -= stepSize * m[i] / (v[i].squareRoot() / correction2Root + epsilon)
        }
    }
}
