/// Max and average pooling, in the input's layout (PoolingKernels). Average pooling counts
/// the zero padding in the divisor, as PyTorch's default (count_include_pad=True).
public enum PoolingKind: Int, Sendable {
    case max, average
}

extension Tensor {
    public func maxPool2d(kernel: Int, stride: Int? = nil, padding: Int = 0) -> Tensor {
        pool2d(.max, kernel: kernel, stride: stride ?? kernel, padding: padding)
    }

    public func avgPool2d(kernel: Int, stride: Int? = nil, padding: Int = 0) -> Tensor {
        pool2d(.average, kernel: kernel, stride: stride ?? kernel, padding: padding)
    }

    private func pool2d(_ kind: PoolingKind, kernel: Int, stride: Int, padding: Int) -> Tensor {
        precondition(rank == 4, "pooling needs a 4-D input, got \(shape)")
        precondition(shape[2] + 2 * padding >= kernel && shape[3] + 2 * padding >= kernel,
                     "pooling window \(kernel) is larger than the padded input \(shape)")
        precondition(padding <= kernel / 2, "pooling padding \(padding) exceeds half the window \(kernel)")
        let layout = self.layout
        let window = PoolingWindow(inputShape: shape, kernel: kernel, stride: stride, padding: padding)
        let out = Tensor(uninitializedShape: [shape[0], shape[1], window.outputHeight, window.outputWidth], layout: layout)
        let positions = kind == .max ? Storage(count: out.storageCount) : nil
        if let positions {
            PoolingKernels.maxForward(self, into: out, positions: positions, window: window)
        } else {
            PoolingKernels.averageForward(self, into: out, window: window)
        }
        let inputShape = shape
        record(kind == .max ? "max-pool" : "avg-pool", inputs: [self], outputs: [out]) { grads in
            guard let g = grads[0] else { return [nil] }
            let dy = LayoutConversion.convert(g, to: layout)
            let dx = Tensor(uninitializedShape: inputShape, layout: layout)
            if let positions {
                PoolingKernels.maxBackward(dy, positions: positions, into: dx, window: window)
            } else {
                PoolingKernels.averageBackward(dy, into: dx, window: window)
            }
            return [dx]
        }
        return out
    }
}
