import Foundation

/// The oneDNN primitives the engine would pick for a convolution, executed bare on buffers
/// already in their layouts: no tensors, no autodiff, no weight reorders. This is the
/// reference the engine's own convolution is measured against.
public struct RawConvolution {
    private let plan: ConvolutionPlan
    private let source: Storage, weights: Storage, destination: Storage
    private let diffSource: Storage, diffWeights: Storage, dataWeights: Storage

    public init(inputShape: [Int], weightShape: [Int], geometry: ConvolutionGeometry) {
        let plan = ConvolutionPlan(inputShape: inputShape, weightShape: weightShape, geometry: geometry, hasBias: false)
        self.plan = plan
        // Each buffer as large as the largest layout any pass reads it in.
        let inputCount = [plan.forward, plan.backwardData, plan.backwardWeights].map { $0.activationLayout.storageCount(for: inputShape) }.max()!
        let outputCount = [plan.forward, plan.backwardData, plan.backwardWeights].map { $0.outputLayout.storageCount(for: plan.outputShape) }.max()!
        source = Storage(count: inputCount)
        weights = Storage(count: plan.forward.weightsCount)
        destination = Storage(count: outputCount)
        diffSource = Storage(count: inputCount)
        diffWeights = Storage(count: plan.backwardWeights.weightsCount)
        dataWeights = Storage(count: plan.backwardData.weightsCount)
        let generator = Philox(seed: 1)
        for storage in [source, weights, destination, dataWeights] {
            let values = generator.uniform(count: storage.count)
            for i in 0..<storage.count { storage.pointer[i] = values[i] - 0.5 }
        }
    }

    /// The layout the forward pass reads its input in.
    public var sourceLayout: Layout { plan.forward.activationLayout }

    public func forward() {
        plan.forward.kernel.execute([(DNNLArgument.src, UnsafeMutableRawPointer(source.pointer)),
                              (DNNLArgument.weights, UnsafeMutableRawPointer(weights.pointer)),
                              (DNNLArgument.dst, UnsafeMutableRawPointer(destination.pointer))])
    }

    /// Backward-data and backward-weights, with the output buffer standing in for its gradient.
    public func backward() {
        backwardData()
        backwardWeights()
    }

    public func backwardData() {
        plan.backwardData.kernel.execute([(DNNLArgument.diffDst, UnsafeMutableRawPointer(destination.pointer)),
                                   (DNNLArgument.weights, UnsafeMutableRawPointer(dataWeights.pointer)),
                                   (DNNLArgument.diffSrc, UnsafeMutableRawPointer(diffSource.pointer))])
    }

    public func backwardWeights() {
        plan.backwardWeights.kernel.execute([(DNNLArgument.src, UnsafeMutableRawPointer(source.pointer)),
                                      (DNNLArgument.diffDst, UnsafeMutableRawPointer(destination.pointer)),
                                      (DNNLArgument.diffWeights, UnsafeMutableRawPointer(diffWeights.pointer))])
    }

    /// The implementation names for forward, backward-data and backward-weights: oneDNN's
    /// ("jit:avx2"), or "engine:" and the engine kernel's.
    public var implementations: [String] { [plan.forward, plan.backwardData, plan.backwardWeights].map(\.kernel.implementation) }
}
