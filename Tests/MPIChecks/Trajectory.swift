import Data
import Distillation
import Distributed
import Foundation
import NeuralNetwork
import Training

/// The losses of each of K steps and the weights after them.
struct Trajectory: Equatable {
    var losses: [[String: Double]] = []
    var weights: [(name: String, values: [Float])] = []

    static func == (a: Trajectory, b: Trajectory) -> Bool {
        a.losses == b.losses && a.weights.map(\.name) == b.weights.map(\.name) && a.weights.map(\.values) == b.weights.map(\.values)
    }

    /// The largest difference of a loss term (relative to the term, or absolute below 1)
    /// at each step.
    func lossDifferences(from reference: Trajectory) -> [Double] {
        zip(losses, reference.losses).map { found, expected in
            expected.map { name, value in abs((found[name] ?? .nan) - value) / max(1, abs(value)) }.max() ?? 0
        }
    }

    /// The largest weight difference, relative to the weight (absolute below 1), and the
    /// tensor it is in.
    func weightDifference(from reference: Trajectory) -> (difference: Double, tensor: String) {
        var worst = (difference: 0.0, tensor: "none")
        for (found, expected) in zip(weights, reference.weights) {
            for (a, b) in zip(found.values, expected.values) {
                let difference = Double(abs(a - b) / max(1, abs(b)))
                if difference > worst.difference { worst = (difference, expected.name) }
            }
        }
        return worst
    }
}

/// K steps of a method, run on the ranks of `communicator` with the whole batch divided among
/// them. The models are small so that 3 ranks on 2 cores take seconds.
///
/// Summed in another order, the whole batch's reductions differ from the split one's by
/// rounding, and training amplifies any difference: a trajectory is only as reproducible
/// as its dynamics are stable. With these random networks, batch 12 and the published step
/// sizes (student 0.1, generator Adam 1e-2) a perturbation of one part in 10^7 of the
/// initial weights grows about tenfold per step, so the runs here take steps where it does
/// not: student 1e-3 (supervised 1e-2), generator 1e-5. The single-step check
/// (distillation-steps) compares the averaged gradients themselves.
enum TrajectoryRuns {
    static let steps = 4
    static let classes = 4

    static func distillation(_ method: DistillationConfiguration.Method, over communicator: Communicator) -> Trajectory {
        var configuration = DistillationConfiguration(method: method)
        configuration.batchSize = 12
        configuration.noise = 8
        configuration.generatorWidths = [8, 8, 4]
        configuration.studentSteps = method == .gip ? 1 : 2
        configuration.iterationsPerEpoch = 1
        configuration.epochs = steps
        configuration.realBatchSize = 12
        configuration.studentWarmupEpochs = 0.4
        configuration.studentLearningRate = 1e-3
        configuration.generatorLearningRate = 1e-5
        let teacher = WideResNet(depth: 16, widen: 1, classes: classes).initialize(seed: 1)
        let student = WideResNet(depth: 16, widen: 1, classes: classes).initialize(seed: 2)
        let run = DistillationRun(teacher: teacher, student: student, imageShape: [3, 32, 32], classes: classes,
                                  configuration: configuration, communicator: communicator)
        let real = configuration.realPasses > 0 ? BatchSource(BuiltinDataset.generate(0..<24, classes: classes, seed: 3), batchSize: 12,
                                                               normalization: DatasetKind.builtin.normalization,
                                                               augmentation: DatasetKind.builtin.augmentation, seed: 4, training: true) : nil
        var trajectory = Trajectory()
        for epoch in 0..<steps { trajectory.losses.append(try! run.runEpoch(epoch, real: real)) }
        trajectory.weights = student.namedFloatState().map { ("student.\($0.0)", $0.1.toArray()) }
            + run.generator.namedFloatState().map { ("generator.\($0.0)", $0.1.toArray()) }
        return trajectory
    }

    /// Supervised training (a teacher, or a student from scratch), one batch per epoch.
    static func supervised(over communicator: Communicator) -> Trajectory {
        let dataset = try! DatasetKind.builtin.load(dataDirectory: nil, split: Split(train: 12, eval: 24))
        var configuration = SupervisedConfiguration()
        configuration.epochs = steps
        configuration.batchSize = 12
        configuration.optimizer = .sgd
        configuration.learningRate = 0.01
        configuration.weightDecay = 5e-4
        let model = WideResNet(depth: 16, widen: 1, classes: dataset.train.classes).initialize(seed: 5)
        var trajectory = Trajectory()
        _ = try! SupervisedTraining.run(model, dataset: dataset, configuration: configuration, metrics: MetricsLog(path: nil),
                                   showProgress: false, communicator: communicator) { _, summary in
            trajectory.losses.append(["train_loss": summary.lastTrainLoss, "eval_top1": summary.lastEvalTop1])
        }
        trajectory.weights = model.namedFloatState().map { ($0.0, $0.1.toArray()) }
        return trajectory
    }
}
