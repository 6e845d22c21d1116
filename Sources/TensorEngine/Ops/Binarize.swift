import Foundation

extension Tensor {
    /// The binarised weights of a binary convolution (XNOR-Net's scaling, as ReActNet's
    /// HardBinaryConv): each output channel's signs scaled by the mean absolute value of its
    /// weights, alpha_o sign(W_o). Backward passes the gradient straight through where
    /// |W| <= 1 (the derivative of clamp(W, -1, 1)); alpha is a constant to it.
    public func binarizedWeights() -> Tensor {
        precondition(rank >= 2, "binarizedWeights needs an output-channel axis and at least one more, got \(shape)")
        let plain = LayoutConversion.toPlain(self)
        let out = Tensor(uninitializedShape: shape)
        let outputs = shape[0], perOutput = count / outputs
        let w = plain.pointer, o = out.pointer
        for channel in 0..<outputs {
            let base = channel * perOutput
            var total: Float = 0
            for i in 0..<perOutput { total += Swift.abs(w[base + i]) }
            let alpha = total / Float(perOutput)
            for i in 0..<perOutput {
                let value = w[base + i]
                o[base + i] = value > 0 ? alpha : (value < 0 ? -alpha : 0)
            }
        }
        let saved = plain.detached()
        record("binarize-weights", inputs: [self], outputs: [out]) { grads in
            [grads[0].map { Elementwise.chain($0, saved) { dy, x in Swift.abs(x) <= 1 ? dy : 0 } }]
        }
        return out
    }
}
