import Foundation
import NeuralNetwork
import TensorEngine
import Training

/// The losses of the distillation methods (configs/*.yaml name the source of each form),
/// each reduced over the batch through `scope`, so that a data-parallel run sees the global
/// batch.
public struct DistillationLosses {
    public let scope: any BatchScope

    public init(scope: any BatchScope = LocalBatch.shared) { self.scope = scope }

    /// tau^2 KL(p(t / tau) || p(s / tau)), batch mean. Gradients reach both arguments.
    public func kd(teacher: Tensor, student: Tensor, temperature: Float = 1) -> Tensor {
        let teacherLog = (teacher / temperature).logSoftmax()
        let studentLog = (student / temperature).logSoftmax()
        let perSample = (teacherLog.exp() * (teacherLog - studentLog)).sum(axes: [1])
        return scope.batchMean(perSample) * (temperature * temperature)
    }

    /// log ||t - s||_2, the norm taken over the whole batch's logit differences (CPSC's
    /// discrepancy term, as torch.norm of the logit-difference matrix).
    public func logL2(teacher: Tensor, student: Tensor) -> Tensor {
        let squares = scope.sumOverRanks((teacher - student).squared().sum())
        return (squares + 1e-12).sqrt().log()
    }

    /// The forms of the L2 part of CPSC's discrepancy.
    public enum L2Form: String, Sendable, CaseIterable {
        /// log ||t - s||_2: the paper's Eq. 6.
        case logNorm = "log-norm"
        /// mean((t - s)^2): the authors' published CIFAR-100 command (CPSC_DFKD.py).
        case mse
    }

    /// The L2 part of the discrepancy in `form`, and the name of its term.
    public func l2(teacher: Tensor, student: Tensor, form: L2Form) -> (name: String, value: Tensor) {
        switch form {
        case .logNorm: ("log_l2", logL2(teacher: teacher, student: student))
        case .mse: ("mse", scope.batchMean((teacher - student).squared().mean(axes: [1])))
        }
    }

    /// Cross entropy from logits and class indices, batch mean.
    public func crossEntropy(_ logits: Tensor, labels: [Int]) -> Tensor {
        let oneHot = Self.oneHot(labels, classes: logits.shape[1])
        return scope.batchMean(-(logits.logSoftmax() * oneHot).sum(axes: [1]))
    }

    /// One-hot loss: cross entropy of the teacher's logits against their own arg-max.
    public func oneHot(teacher: Tensor) -> Tensor {
        crossEntropy(teacher, labels: Evaluation.predictedClasses(teacher))
    }

    /// The forms of the information-entropy term, sum_j pbar_j log pbar_j with pbar the
    /// batch-mean teacher prediction; they differ by a constant factor, which the published
    /// weights assume.
    public enum EntropyForm: String, Sendable, CaseIterable {
        /// sum_j pbar_j log10 pbar_j: DAFL's code (DAFL_train.py), for its weight 5.
        case sumLog10 = "sum-log10"
        /// sum_j pbar_j ln pbar_j: the DFQ runs of the CMI repository, for their weight 20.
        case sumLn = "sum-ln"
        /// (1/k) sum_j pbar_j ln pbar_j: GIP's Eq. 12, for its weight 5.
        case meanLn = "mean-ln"
    }

    /// The information-entropy term in `form`: minimising it balances the classes of the
    /// generated batch.
    public func informationEntropy(teacher: Tensor, form: EntropyForm = .sumLn) -> Tensor {
        let mean = scope.columnMean(teacher.softmax())
        let sum = (mean * (mean + 1e-12).log()).sum()
        switch form {
        case .sumLn: return sum
        case .sumLog10: return sum / Float(log(10.0))
        case .meanLn: return sum / Float(teacher.shape[1])
        }
    }

    /// The forms of the activation term over the teacher's features f (N x F).
    public enum ActivationForm: String, Sendable, CaseIterable {
        /// -mean over samples and features of |f|: DAFL's code.
        case mean
        /// -mean over samples of ||f_i||_1: GIP's Eq. 13 (larger by the feature count).
        case l1
    }

    /// Activation term: minus the size of the teacher's features, in `form`.
    public func activation(features: Tensor, form: ActivationForm = .mean) -> Tensor {
        switch form {
        case .mean: -scope.batchMean(features.abs().mean(axes: [1]))
        case .l1: -scope.batchMean(features.abs().sum(axes: [1]))
        }
    }

    /// Total variation, DeepInversion's image prior: per image, the mean absolute difference
    /// between neighbouring pixels across and down (a 2x2 difference kernel per channel); the
    /// batch mean. Natural images are mostly smooth; a generator without batch-norm statistics
    /// to match otherwise draws high-frequency textures that the teacher classifies too.
    public func totalVariation(_ images: Tensor) -> Tensor {
        let channels = images.shape[1]
        let acrossAndDown: [Float] = [-1, 1, 0, 0, -1, 0, 1, 0]
        let weight = Tensor(shape: [2 * channels, 1, 2, 2], values: (0..<channels).flatMap { _ in acrossAndDown })
        let differences = Tensor.conv2d(images, weight: weight, geometry: ConvolutionGeometry(groups: channels))
        return scope.batchMean(differences.abs().mean(axes: [1, 2, 3]))
    }

    /// Mean absolute logit difference (DFAD).
    public func l1(teacher: Tensor, student: Tensor) -> Tensor {
        scope.batchMean((teacher - student).abs().mean(axes: [1]))
    }

    /// The forms of the batch-norm statistics loss.
    public enum StatisticsForm: String, Sendable, CaseIterable {
        /// sum_l ||mu_l - mu_l*||_2 + ||var_l - var_l*||_2 (CPSC, DeepInversion)
        case norms
        /// sum_l ||mu_l - mu_l*||^2 + ||sigma_l - sigma_l*||^2 (GIP)
        case squares
    }

    /// The distance of the batch statistics of each batch norm's input (recorded during the
    /// forward pass, see BatchNorm2d.recordsInputMoments) to its running statistics, summed
    /// over the layers.
    public func batchStatistics(_ layers: [BatchNorm2d], form: StatisticsForm) -> Tensor {
        var total = Tensor(0)
        for layer in layers {
            guard let (mean, variance) = layer.inputMoments else {
                preconditionFailure("batch-norm statistics loss: a layer recorded no input moments")
            }
            let runningMean = layer.runningMean.detached(), runningVariance = layer.runningVariance.detached()
            switch form {
            case .norms:
                total = total + ((mean - runningMean).squared().sum() + 1e-12).sqrt()
                    + ((variance - runningVariance).squared().sum() + 1e-12).sqrt()
            case .squares:
                total = total + (mean - runningMean).squared().sum()
                    + ((variance + 1e-8).sqrt() - (runningVariance + 1e-8).sqrt()).squared().sum()
            }
        }
        return total
    }

    /// Supervised contrast between teacher and student (CPSC's Eq. 8) over the 2n
    /// L2-normalised vectors {h^T, h^S} of the whole batch: for each anchor, the mean over
    /// the other vectors of its class of -log softmax of the similarity (temperature tau)
    /// against every vector but itself; averaged over anchors.
    public func contrastive(teacherFeatures: Tensor, studentFeatures: Tensor, labels: [Int], temperature: Float = 0.07) -> Tensor {
        let vectors = Tensor.concatenate([scope.gatherRows(teacherFeatures.l2Normalized()),
                                          scope.gatherRows(studentFeatures.l2Normalized())], axis: 0)
        let allLabels = gatheredLabels(labels)
        let labelsOfVectors = allLabels + allLabels
        let count = labelsOfVectors.count
        // Self-similarity is excluded from every denominator.
        var diagonal = [Float](repeating: 0, count: count * count)
        var weights = [Float](repeating: 0, count: count * count)
        for a in 0..<count {
            diagonal[a * count + a] = -1e9
            let positives = (0..<count).filter { $0 != a && labelsOfVectors[$0] == labelsOfVectors[a] }
            for p in positives { weights[a * count + p] = 1 / Float(positives.count) }
        }
        let similarity = Tensor.matmul(vectors, vectors, transposeB: true) / temperature
        let logProbability = (similarity + Tensor(shape: [count, count], values: diagonal)).logSoftmax()
        return -(logProbability * Tensor(shape: [count, count], values: weights)).sum() / Float(count)
    }

    /// Every rank's labels in rank order.
    func gatheredLabels(_ labels: [Int]) -> [Int] {
        let local = Tensor(shape: [labels.count, 1], values: labels.map(Float.init))
        return withoutGradient { scope.gatherRows(local) }.toArray().map { Int($0.rounded()) }
    }

    static func oneHot(_ labels: [Int], classes: Int) -> Tensor {
        var values = [Float](repeating: 0, count: labels.count * classes)
        for (i, label) in labels.enumerated() { values[i * classes + label] = 1 }
        return Tensor(shape: [labels.count, classes], values: values)
    }
}
