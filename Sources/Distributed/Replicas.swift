import Foundation
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

    /// Whether every rank holds the same parameters and float buffers of `module`, bit for
    /// bit: a fingerprint of the values, compared over the ranks (one small collective).
    public static func areIdentical(_ module: Module, over communicator: Communicator) -> Bool {
        guard communicator.size > 1 else { return true }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for (_, tensor) in module.namedFloatState() {
            for i in 0..<tensor.count { hash = (hash ^ UInt64(tensor.pointer[i].bitPattern)) &* 0x100_0000_01b3 }
        }
        // 52 bits survive a Double exactly; the largest and the smallest over the ranks agree
        // only if every rank's does.
        let fingerprint = Double(hash >> 12)
        var extremes = [fingerprint, -fingerprint]
        extremes.withUnsafeMutableBufferPointer { communicator.allReduceMax($0) }
        return extremes[0] == fingerprint && -extremes[1] == fingerprint
    }

    /// In debug builds, ends the job if the replicas of `module` differ: a rank that
    /// diverged would go on training a different model without any error.
    public static func assertIdentical(_ module: Module, _ what: String, over communicator: Communicator) {
        #if DEBUG
        guard areIdentical(module, over: communicator) else {
            FileHandle.standardError.write(Data("\(communicator.description): the replicas of the \(what) differ between ranks\n".utf8))
            communicator.abort(code: 1)
        }
        #endif
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
