import Data
import Distributed
import Foundation
import NeuralNetwork
import Storage
import TensorEngine

/// How a classifier is trained on labelled images (a teacher, a student from scratch, or a
/// student distilled from a teacher on real data).
public struct SupervisedConfiguration: Sendable, Equatable {
    public enum OptimizerKind: String, Sendable, CaseIterable { case adam, sgd }
    public enum ScheduleKind: String, Sendable, CaseIterable { case cosine, multistep, constant }

    public var epochs = 30
    public var batchSize = 128
    public var optimizer = OptimizerKind.adam
    public var learningRate: Float = 1e-3
    public var momentum: Float = 0.9
    public var nesterov = false
    public var weightDecay: Float = 0
    public var schedule = ScheduleKind.cosine
    public var warmupEpochs: Double = 0
    public var milestones: [Int] = []
    public var gamma: Float = 0.1
    public var seed: UInt64 = 0
    /// With a teacher: loss = (1 - kdWeight) CE + kdWeight * tau^2 KL at kdTemperature.
    public var kdWeight: Float = 0.9
    public var kdTemperature: Float = 4

    public init() {}

    func makeSchedule() -> any LearningRateSchedule {
        switch schedule {
        case .cosine: CosineWarmupSchedule(base: learningRate, warmupEpochs: warmupEpochs, totalEpochs: Double(epochs))
        case .multistep: MultiStepSchedule(base: learningRate, milestones: milestones, gamma: gamma)
        case .constant: MultiStepSchedule(base: learningRate, milestones: [])
        }
    }

    func makeOptimizer(for model: Module) -> Optimizer {
        let parameters = FlatParameters(model.namedParameters())
        switch optimizer {
        case .adam: return Adam(parameters: parameters, learningRate: learningRate, weightDecay: weightDecay)
        case .sgd: return SGD(parameters: parameters, learningRate: learningRate, momentum: momentum, weightDecay: weightDecay, nesterov: nesterov)
        }
    }
}

/// What a finished (or stopped) run did.
public struct TrainingSummary: Sendable {
    public var epochsCompleted = 0
    public var stoppedEarly = false
    /// Stopped on request with a checkpoint to resume from.
    public var stoppedForResume = false
    /// The last epoch's evaluation accuracy: the result. The best is reported labelled as such.
    public var lastEvalTop1 = Double.nan
    public var bestEvalTop1 = Double.nan
    public var bestEpoch = 0
    public var lastTrainLoss = Double.nan
    public var wallSeconds = 0.0
    public var imagesPerSecond = 0.0
}

/// Checkpoints of a supervised run: where, how often, what the command says of the run,
/// and the checkpoint it resumes from.
public struct SupervisedCheckpointing {
    public let series: CheckpointSeries
    /// A checkpoint every this many steps within an epoch (0: none within); one is always
    /// written at every epoch's end and at a stop.
    public var every = 0
    /// A checkpoint when this many minutes passed since the last (0: off).
    public var minutes = 10.0
    public var identity: [String: CheckpointFile.Attribute] = [:]
    public var resumingFrom: CheckpointFile.Contents?

    public init(series: CheckpointSeries) { self.series = series }

    /// The epochs a resumed run has finished (its metrics keep their lines).
    public var epochsDone: Int? {
        resumingFrom.flatMap { try? $0.integer("epoch", in: series.directory) }
    }
}

public enum SupervisedTraining {
    /// Trains `model` on `dataset.train`, evaluating on `dataset.eval` after every epoch;
    /// logs one JSON line per epoch to `metrics` and shows progress. `afterEpoch` runs after
    /// each epoch's evaluation (the command saves the model there). When StopRequest is
    /// raised the run stops after the running step; with `checkpointing` it writes a
    /// checkpoint first (`stoppedForResume`), and it resumes from the one given.
    ///
    /// Over several ranks each takes its share of every batch (batch-norm statistics and the
    /// loss span the whole batch, gradients are averaged) and its share of the evaluation;
    /// every rank returns the same summary.
    public static func run(_ model: any Classifier, dataset: LoadedDataset, configuration: SupervisedConfiguration,
                           teacher: (any Classifier)? = nil, metrics: MetricsLog, showProgress: Bool = true,
                           communicator: Communicator = SingleProcess(), checkpointing: SupervisedCheckpointing? = nil,
                           afterEpoch: (Int, TrainingSummary) throws -> Void = { _, _ in }) throws -> TrainingSummary {
        let source = BatchSource(dataset.train, batchSize: configuration.batchSize, normalization: dataset.normalization,
                                 augmentation: dataset.kind.augmentation, seed: configuration.seed, training: true)
        precondition(source.batchesPerEpoch > 0, "batch size \(configuration.batchSize) is larger than the \(dataset.train.count) training images")
        let optimizer = configuration.makeOptimizer(for: model)
        let schedule = configuration.makeSchedule()
        teacher?.eval()
        teacher?.freeze()
        let scope: any BatchScope = communicator.size > 1 ? RankBatch(communicator) : LocalBatch.shared
        for layer in model.batchNorms { layer.momentsScope = scope }
        Replicas.broadcast(model, over: communicator)
        Replicas.assertIdentical(model, "model", over: communicator)
        let rows = communicator.share(of: configuration.batchSize)
        var progress = SupervisedProgress()
        if let checkpoint = checkpointing?.resumingFrom {
            progress = try SupervisedProgress(restoring: checkpoint, model: model, optimizer: optimizer, communicator: communicator)
        }
        var summary = progress.summary
        let start = Date(), wallAtStart = progress.wallSeconds
        var lastCheckpoint = Date()
        let steps = configuration.epochs * source.batchesPerEpoch
        let bar = showProgress ? ProgressReporter(label: "train", total: steps) : nil
        var imagesSeen = 0
        func checkpoint(waiting: Bool) throws {
            guard let checkpointing else { return }
            progress.wallSeconds = wallAtStart + Date().timeIntervalSince(start)
            try progress.write(to: checkpointing, model: model, optimizer: optimizer, batchesPerEpoch: source.batchesPerEpoch,
                               communicator: communicator, waiting: waiting)
            lastCheckpoint = Date()
        }
        while progress.epoch < configuration.epochs {
            let epoch = progress.epoch
            model.train()
            let order = source.order(epoch: epoch)
            var stopAtEpochEnd = false
            while progress.step < source.batchesPerEpoch {
                let index = progress.step
                optimizer.learningRate = schedule.learningRate(atEpoch: Double(epoch) + Double(index) / Double(source.batchesPerEpoch))
                let batch = source.batch(index, epoch: epoch, order: order, rows: rows)
                optimizer.zeroGradients()
                let logits = model(batch.images)
                var loss = Loss.crossEntropy(logits, labels: batch.labels, scope: scope)
                if let teacher {
                    let teacherLogits = withoutGradient { teacher(batch.images) }
                    let kd = Loss.kdDivergence(student: logits, teacher: teacherLogits, temperature: configuration.kdTemperature, scope: scope)
                    loss = loss * (1 - configuration.kdWeight) + kd * configuration.kdWeight
                }
                let lossValue = Double(loss.item)
                let position = "epoch \(epoch + 1), step \(index + 1)"
                try Divergence.check(["loss": lossValue], in: "the training step", at: position)
                loss.backward()
                Replicas.averageGradients(optimizer.parameters, over: communicator)
                try Divergence.check(gradientsOf: optimizer.parameters, in: "the training step", at: position)
                optimizer.step()
                // The loss is the whole batch's already; the correct count is this rank's.
                progress.lossSum += lossValue * Double(configuration.batchSize)
                progress.seen += configuration.batchSize
                progress.correct += zip(Evaluation.predictedClasses(logits.detached()), batch.labels).filter { $0 == $1 }.count
                progress.step += 1
                imagesSeen += configuration.batchSize
                bar?.update(epoch * source.batchesPerEpoch + progress.step,
                            status: String(format: "epoch %d loss %.4f", epoch + 1, progress.lossSum / Double(progress.seen)))
                let due = checkpointing.map { ($0.every > 0 && progress.step % $0.every == 0)
                                                || ($0.minutes > 0 && Date().timeIntervalSince(lastCheckpoint) >= $0.minutes * 60) } ?? false
                let agreed = StopRequest.agreed(on: communicator, budgetSpent: due)
                if progress.step == source.batchesPerEpoch {
                    stopAtEpochEnd = agreed.stop
                } else if agreed.stop {
                    summary.stoppedEarly = true
                    guard checkpointing != nil else { break }
                    try checkpoint(waiting: true)
                    summary.stoppedForResume = true
                    break
                } else if agreed.budgetSpent {
                    try checkpoint(waiting: false)
                }
            }
            if summary.stoppedEarly { break }
            var correctOverRanks = [Double(progress.correct)]
            communicator.allReduceSum(&correctOverRanks)
            let correct = Int(correctOverRanks[0])
            let evaluation = Evaluation.run(model, on: dataset.eval, normalization: dataset.normalization, communicator: communicator)
            summary.epochsCompleted = epoch + 1
            summary.lastEvalTop1 = evaluation.top1
            summary.lastTrainLoss = progress.lossSum / Double(max(progress.seen, 1))
            if !(summary.bestEvalTop1 >= evaluation.top1) {
                summary.bestEvalTop1 = evaluation.top1
                summary.bestEpoch = epoch + 1
            }
            Replicas.assertIdentical(model, "model", over: communicator)
            // The model file first: a metrics line never names an epoch whose model was not saved.
            try afterEpoch(epoch + 1, summary)
            try metrics.log([
                "epoch": epoch + 1, "train_loss": summary.lastTrainLoss, "train_top1": 100 * Double(correct) / Double(max(progress.seen, 1)),
                "eval_top1": evaluation.top1, "learning_rate": Double(optimizer.learningRate),
                "wall_seconds": wallAtStart + Date().timeIntervalSince(start),
            ])
            progress.finishEpoch(summary)
            try checkpoint(waiting: stopAtEpochEnd || progress.epoch == configuration.epochs)
            if stopAtEpochEnd && progress.epoch < configuration.epochs {
                (summary.stoppedEarly, summary.stoppedForResume) = (true, checkpointing != nil)
                break
            }
        }
        try checkpointing?.series.waitForWrites()
        summary.wallSeconds = Date().timeIntervalSince(start)
        summary.imagesPerSecond = Double(imagesSeen) / max(summary.wallSeconds, 1e-9)
        return summary
    }
}
