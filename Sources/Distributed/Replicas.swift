import NeuralNetwork
import TensorEngine

/// Keeping the replicas of a data-parallel run identical.
public enum Replicas {
    /// Copies every parameter and float buffer (running statistics) of `module` from rank
    /// `root` to all ranks, in one message.
    public static func broadcast(_ module: Module, from root: Int = 0, over communicator: Communicator) {
        guard communicator.size > 1 else { return }
        let tensors = module.namedFloatState().map(\.1)
        var packed = tensors.flatMap { $0.toArray() }
        packed.withUnsafeMutableBufferPointer { communicator.broadcast($0, root: root) }
        var offset = 0
        for tensor in tensors {
            for i in 0..<tensor.count { tensor.pointer[i] = packed[offset + i] }
            offset += tensor.count
        }
    }

    /// Replaces each gradient with its mean over the ranks, in one all-reduce of the
    /// optimizer's flat gradient block (tensor fusion: one message per step, not one per
    /// parameter).
    public static func averageGradients(_ parameters: FlatParameters, over communicator: Communicator) {
        guard communicator.size > 1 else { return }
        let gradients = parameters.gradientBuffer
        communicator.allReduceSum(gradients)
        let scale = 1 / Float(communicator.size)
        for i in gradients.indices { gradients[i] *= scale }
    }
}
