import Distributed
import Foundation
import NeuralNetwork
import Storage

/// Where a supervised run is, and its checkpoints: the model, the optimizer, the position
/// (epoch, steps done in it), the running epoch's loss and accuracy sums, the evaluation
/// results so far and the training seconds.
struct SupervisedProgress {
    var epoch = 0
    var step = 0
    var lossSum = 0.0
    /// This rank's correct count in the running epoch (summed over ranks at its end).
    var correct = 0
    var seen = 0
    var lastTop1 = Double.nan, bestTop1 = Double.nan, bestEpoch = 0, lastTrainLoss = Double.nan
    var wallSeconds = 0.0

    init() {}

    var summary: TrainingSummary {
        var summary = TrainingSummary()
        (summary.epochsCompleted, summary.lastEvalTop1, summary.bestEvalTop1) = (epoch, lastTop1, bestTop1)
        (summary.bestEpoch, summary.lastTrainLoss) = (bestEpoch, lastTrainLoss)
        return summary
    }

    mutating func finishEpoch(_ summary: TrainingSummary) {
        (epoch, step, lossSum, correct, seen) = (epoch + 1, 0, 0, 0, 0)
        (lastTop1, bestTop1, bestEpoch, lastTrainLoss) = (summary.lastEvalTop1, summary.bestEvalTop1, summary.bestEpoch, summary.lastTrainLoss)
    }

    /// Restores the model, the optimizer and the progress from `checkpoint`; rank 0 takes
    /// the running epoch's correct count (the ranks' counts are summed at the epoch's end).
    init(restoring checkpoint: CheckpointFile.Contents, model: Module, optimizer: Optimizer, communicator: Communicator) throws {
        let file = "the checkpoint", state = checkpoint.state
        guard (try? checkpoint.text("kind", in: file)) == "supervised" else {
            throw StateArchiveError.mismatch("kind", ["the checkpoint is not of a supervised training run"])
        }
        try model.restore(from: state, group: "model")
        try optimizer.restore(from: state, group: "optimizer")
        epoch = try checkpoint.integer("epoch", in: file)
        step = try checkpoint.integer("iteration", in: file)
        lastTop1 = try checkpoint.number("last_top1", in: file)
        bestTop1 = try checkpoint.number("best_top1", in: file)
        bestEpoch = try checkpoint.integer("best_epoch", in: file)
        lastTrainLoss = try checkpoint.number("last_train_loss", in: file)
        wallSeconds = try checkpoint.number("wall_seconds", in: file)
        lossSum = try state.double("epoch/loss_sum")
        seen = try state.integer("epoch/seen")
        correct = communicator.isRoot ? try state.integer("epoch/correct") : 0
    }

    /// Writes a checkpoint of the run (rank 0; every rank takes part in summing the correct
    /// count). With `waiting`, every rank returns once the file is durable.
    func write(to checkpointing: SupervisedCheckpointing, model: Module, optimizer: Optimizer, batchesPerEpoch: Int,
               communicator: Communicator, waiting: Bool) throws {
        var correctOverRanks = [Double(correct)]
        communicator.allReduceSum(&correctOverRanks)
        if communicator.isRoot {
            var state = StateArchive()
            model.archive(into: &state, group: "model")
            optimizer.archive(into: &state, group: "optimizer")
            state.add("epoch/loss_sum", scalar: lossSum)
            state.add("epoch/seen", scalar: seen)
            state.add("epoch/correct", scalar: Int(correctOverRanks[0]))
            var attributes = checkpointing.identity
            attributes["kind"] = .text("supervised")
            attributes["epoch"] = .integer(Int64(epoch))
            attributes["iteration"] = .integer(Int64(step))
            attributes["iterations_per_epoch"] = .integer(Int64(batchesPerEpoch))
            attributes["world_size"] = .integer(Int64(communicator.size))
            attributes["last_top1"] = .number(lastTop1)
            attributes["best_top1"] = .number(bestTop1)
            attributes["best_epoch"] = .integer(Int64(bestEpoch))
            attributes["last_train_loss"] = .number(lastTrainLoss)
            attributes["wall_seconds"] = .number(wallSeconds)
            attributes["provenance_written"] = .text(ISO8601DateFormatter().string(from: Date()))
            try checkpointing.series.write(CheckpointFile.Contents(attributes: attributes, state: state),
                                           name: RunDirectory.checkpointName(epoch: epoch, iteration: step))
            if waiting { try checkpointing.series.waitForWrites() }
        }
        if waiting { communicator.barrier() }
    }
}
