import TensorEngine

/// Batch normalisation over (N, H, W) per channel (PyTorch's nn.BatchNorm2d): weight 1, bias 0,
/// running_mean 0, running_var 1, num_batches_tracked 0 at initialisation; training mode
/// normalises with the batch's biased variance and stores the unbiased one in running_var.
///
/// With `recordsInputMoments` on, every forward also keeps the batch mean and biased variance
/// of its input as differentiable tensors (`inputMoments`), in either mode: the
/// BN-statistics losses read a frozen teacher's layers this way.
public final class BatchNorm2d: Layer {
    public let weight: Tensor?
    public let bias: Tensor?
    public let runningMean: Tensor
    public let runningVariance: Tensor
    public let batchesTracked = Counter()
    public var momentum: Float
    public let epsilon: Float
    public var recordsInputMoments = false
    /// The batch the statistics are taken over: the recorded input moments always, and in
    /// training mode the normalisation too when the batch spans ranks (synchronised batch
    /// norm: every rank normalises with the whole batch's mean and variance).
    public var momentsScope: any BatchScope = LocalBatch.shared
    /// In training mode, whether a forward moves the running statistics. A step that must
    /// normalise with batch statistics without changing the model's state turns it off.
    public var updatesRunningStatistics = true
    public private(set) var inputMoments: (mean: Tensor, variance: Tensor)?

    public init(_ channels: Int, epsilon: Float = 1e-5, momentum: Float = 0.1, affine: Bool = true) {
        weight = affine ? makeParameter([channels]) : nil
        bias = affine ? makeParameter([channels]) : nil
        runningMean = Tensor.zeros([channels])
        runningVariance = Tensor.full([channels], 1)
        self.epsilon = epsilon
        self.momentum = momentum
    }

    public var channels: Int { runningMean.count }

    public override var localParameters: [(String, Tensor)] {
        (weight.map { [("weight", $0)] } ?? []) + (bias.map { [("bias", $0)] } ?? [])
    }

    public override var localBuffers: [(String, StateBuffer)] {
        [("running_mean", .tensor(runningMean, initialValue: 0)),
         ("running_var", .tensor(runningVariance, initialValue: 1)),
         ("num_batches_tracked", .counter(batchesTracked))]
    }

    public override func resetParameters(_ generator: ParameterGenerator) {
        if let weight { generator.fill(weight, 1) }
        if let bias { generator.fill(bias, 0) }
    }

    public override func forward(_ x: Tensor) -> Tensor { normalized(x, rectified: false) }

    /// `bn(x, rectified: true)` is `bn(x).relu()` in one pass over the tensor (the same values
    /// and gradients, without storing the normalised tensor).
    public func callAsFunction(_ x: Tensor, rectified: Bool) -> Tensor { normalized(x, rectified: rectified) }

    private func normalized(_ x: Tensor, rectified: Bool) -> Tensor {
        let partition = isTraining || recordsInputMoments ? momentsScope.partition(localCount: x.shape[0]) : nil
        inputMoments = recordsInputMoments ? x.channelMoments(partition: partition) : nil
        let updatesRunning = isTraining && updatesRunningStatistics
        if updatesRunning { batchesTracked.value += 1 }
        let running = isTraining && !updatesRunning ? nil
            : RunningStatistics(mean: runningMean, variance: runningVariance, momentum: momentum)
        return Tensor.batchNorm(x, weight: weight, bias: bias, running: running, training: isTraining, epsilon: epsilon,
                                partition: isTraining ? partition : nil, rectified: rectified)
    }
}
