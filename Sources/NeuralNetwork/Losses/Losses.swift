import Foundation
import TensorEngine

/// Losses reduced as PyTorch's defaults: the mean over the batch (and over elements for MSE
/// and L1).
public enum Loss {
    /// Cross entropy of logits (N x K) against class indices, mean over the batch. Log-softmax
    /// is taken once, on the logits; the gradient is (softmax - onehot) / N. Over `scope`, N is
    /// the whole batch's count.
    public static func crossEntropy(_ logits: Tensor, labels: [Int], scope: any BatchScope = LocalBatch.shared) -> Tensor {
        precondition(logits.rank == 2 && logits.shape[0] == labels.count,
                     "crossEntropy: logits \(logits.shape) for \(labels.count) labels")
        let classes = logits.shape[1]
        precondition(labels.allSatisfy { (0..<classes).contains($0) }, "crossEntropy: a label is outside 0..<\(classes)")
        let oneHot = Tensor.zeros(logits.shape)
        for (row, label) in labels.enumerated() { oneHot.pointer[row * classes + label] = 1 }
        return -scope.batchMean(sum: (logits.logSoftmax() * oneHot).sum(), samples: labels.count)
    }

    /// tau^2 * KL(softmax(teacher / tau) || softmax(student / tau)), mean over the batch
    /// (PyTorch: kl_div(log_softmax(s/tau), softmax(t/tau), reduction="batchmean") * tau^2).
    /// Gradients reach both arguments: a generator is trained through both networks.
    public static func kdDivergence(student: Tensor, teacher: Tensor, temperature: Float = 1,
                                    scope: any BatchScope = LocalBatch.shared) -> Tensor {
        precondition(student.shape == teacher.shape && student.rank == 2,
                     "kdDivergence: student \(student.shape) and teacher \(teacher.shape) must be equal N x K")
        let teacherLog = (teacher / temperature).logSoftmax()
        let studentLog = (student / temperature).logSoftmax()
        let teacherProbabilities = teacherLog.exp()
        let divergence = (teacherProbabilities * (teacherLog - studentLog)).sum()
        return scope.batchMean(sum: divergence, samples: student.shape[0]) * (temperature * temperature)
    }

    /// Mean squared error over all elements.
    public static func meanSquaredError(_ a: Tensor, _ b: Tensor) -> Tensor {
        (a - b).squared().mean()
    }

    /// Mean absolute error over all elements.
    public static func l1(_ a: Tensor, _ b: Tensor) -> Tensor {
        (a - b).abs().mean()
    }
}
