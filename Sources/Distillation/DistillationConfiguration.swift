import NeuralNetwork

/// Everything a data-free distillation run is: the method is a set of loss weights and a
/// loop shape, so the published methods and the paper's ablations are configurations.
/// A weight of 0 switches its term off.
public struct DistillationConfiguration: Sendable, Equatable {
    /// `noise` is the lower reference: KD on Gaussian noise images, no generator.
    public enum Method: String, Sendable, CaseIterable { case cpsc, gip, dafl, dfad, dfq, noise }
    public enum StudentOptimizer: String, Sendable, CaseIterable { case sgd, adam }
    /// cosine: linear warm-up then cosine decay; multistep: x0.1 at each milestone epoch;
    /// linear: a straight line from the learning rate to 0 at the last epoch (ReActNet's).
    public enum StudentSchedule: String, Sendable, CaseIterable { case cosine, multistep, constant, linear }

    public var method: Method

    // Loop.
    public var epochs = 100
    public var iterationsPerEpoch = 50
    public var generatorSteps = 1
    public var studentSteps = 5
    /// The student steps on the images of the generator step just taken (DAFL, GIP) instead
    /// of fresh ones.
    public var studentReusesGeneratorBatch = false
    /// The student steps come before the generator steps in each iteration (DFAD's loop).
    public var studentStepsFirst = false
    /// GIP: passes over the real training split after each epoch's synthetic iterations
    /// (a fraction is a share of one pass; 0 for data-free methods).
    public var realPasses: Double = 0
    public var realBatchSize = 128
    public var batchSize = 256
    public var seed: UInt64 = 0

    // Generator.
    public var noise = 256
    public var generatorWidths = [128, 128, 64]
    public var embeddings = EmbeddingPlacement.all
    public var generatorOutput = GeneratorOutput.free
    public var generatorLearningRate: Float = 1e-3
    public var generatorBeta1: Float = 0.5
    public var generatorBeta2: Float = 0.999
    public var generatorMilestones: [Int] = [50, 150]
    /// Milestones as fractions of the run instead of epochs: of the `--minutes` budget when
    /// the run has one (the epoch after the one during which that share of the minutes
    /// passed, in training time over every invocation), else of `epochs`. A schedule that
    /// keeps its shape whatever the budget buys.
    public var generatorMilestoneFractions: [Double] = []
    public var generatorGamma: Float = 0.1
    /// The epsilon of the batch norms after the generator's two inner convolutions: DAFL's
    /// generator has BatchNorm2d(C, 0.8) there (and GIP takes DAFL's generator).
    public var generatorInnerEpsilon: Float = 1e-5

    // Student.
    public var studentOptimizer = StudentOptimizer.sgd
    public var studentLearningRate: Float = 0.1
    public var studentMomentum: Float = 0.9
    public var studentNesterov = false
    public var studentWeightDecay: Float = 5e-4
    public var studentSchedule = StudentSchedule.cosine
    public var studentWarmupEpochs: Double = 10
    public var studentMilestones: [Int] = []
    /// The decay of the exponential moving average of the student's weights that the run
    /// evaluates and saves (WeightAverage); 0: the trained weights themselves.
    public var studentAverageDecay: Float = 0
    /// How the run chooses, without real images, which epoch's student it writes
    /// (StudentSelection), and the probe bank it measures them on: generated images of
    /// `probeStates` generator states, `probeImages` per state spread evenly over the classes.
    /// `last` until a rule on the probe bank beats it (docs/selection.md).
    public var selectionRule = StudentSelection.Rule.last
    public var probeStates = 8
    public var probeImages = 240
    /// Measure every rule beside `selectionRule` (docs/selection.md); each costs two passes of
    /// the student over the bank an epoch, and without it a run keeping the last epoch's
    /// student keeps no bank at all (its collapse report needs only the newest probe).
    public var selectionStudy = false

    // Discrepancy between teacher and student: the student minimises it, the generator
    // maximises it when `adversarial` is on.
    public var kdWeight: Float = 1
    public var kdTemperature: Float = 1
    public var logL2Weight: Float = 5
    public var l2Form = DistillationLosses.L2Form.logNorm
    public var l1Weight: Float = 0
    public var adversarial = true

    // Generator-side terms.
    /// Pseudo-supervised cross entropy, in its two stages (paper Eq. 7): CE(t, y) for the
    /// generator, CE(s, y) for the student. y is the conditional label, or the teacher's
    /// arg-max when the generator is unconditional.
    public var generatorCrossEntropyWeight: Float = 0.7
    public var studentCrossEntropyWeight: Float = 0.7
    public var statisticsWeight: Float = 1
    public var statisticsForm = DistillationLosses.StatisticsForm.norms
    public var contrastWeight: Float = 0.7
    public var contrastTemperature: Float = 0.07
    public var oneHotWeight: Float = 0
    public var entropyWeight: Float = 0
    public var entropyForm = DistillationLosses.EntropyForm.sumLn
    public var activationWeight: Float = 0
    /// The generator's total-variation prior on its images (DistillationLosses.totalVariation).
    public var totalVariationWeight: Float = 0
    public var activationForm = DistillationLosses.ActivationForm.mean

    /// The warm-up the cosine schedule uses: a run no longer than the warm-up keeps the shape
    /// of the published schedule, warming up for a tenth of its epochs.
    public var effectiveStudentWarmupEpochs: Double {
        studentSchedule == .cosine && studentWarmupEpochs >= Double(epochs) ? Double(epochs) / 10 : studentWarmupEpochs
    }

    /// The published defaults of `method`: each paper's settings, completed by its authors'
    /// code where the paper is silent (configs/*.yaml say which, and every deviation).
    public init(method: Method) {
        self.method = method
        switch method {
        case .cpsc:
            epochs = 600
            batchSize = 512
        case .gip:
            noise = 1000
            embeddings = .none
            generatorInnerEpsilon = 0.8
            generatorLearningRate = 1e-2
            generatorBeta1 = 0.9
            generatorMilestones = []
            studentSteps = 1
            studentReusesGeneratorBatch = true
            realPasses = 1
            batchSize = 1024
            iterationsPerEpoch = 120
            epochs = 200
            studentNesterov = true
            studentSchedule = .multistep
            studentMilestones = [80, 120]
            studentWarmupEpochs = 0
            adversarial = false
            logL2Weight = 0
            generatorCrossEntropyWeight = 0
            studentCrossEntropyWeight = 0
            contrastWeight = 0
            statisticsWeight = 5
            statisticsForm = .squares
            oneHotWeight = 1
            entropyWeight = 5
            entropyForm = .meanLn
            activationWeight = 0.1
            activationForm = .l1
        case .dafl:
            noise = 100
            embeddings = .none
            generatorInnerEpsilon = 0.8
            generatorLearningRate = 0.2
            generatorBeta1 = 0.9
            generatorMilestones = []
            studentSteps = 1
            studentReusesGeneratorBatch = true
            studentOptimizer = .adam
            studentLearningRate = 2e-3
            studentWeightDecay = 0
            studentSchedule = .constant
            studentWarmupEpochs = 0
            adversarial = false
            logL2Weight = 0
            generatorCrossEntropyWeight = 0
            studentCrossEntropyWeight = 0
            contrastWeight = 0
            statisticsWeight = 0
            oneHotWeight = 1
            entropyWeight = 5
            entropyForm = .sumLog10
            activationWeight = 0.1
            batchSize = 512
            iterationsPerEpoch = 120
            epochs = 200
        case .dfad:
            epochs = 500
            studentStepsFirst = true
            embeddings = .none
            generatorBeta1 = 0.9
            generatorMilestones = [100, 200]
            studentSchedule = .multistep
            studentMilestones = [100, 200]
            studentWarmupEpochs = 0
            kdWeight = 0
            l1Weight = 1
            logL2Weight = 0
            generatorCrossEntropyWeight = 0
            studentCrossEntropyWeight = 0
            contrastWeight = 0
            statisticsWeight = 0
        case .noise:
            generatorSteps = 0
            studentSteps = 1
            embeddings = .none
            logL2Weight = 0
            generatorCrossEntropyWeight = 0
            studentCrossEntropyWeight = 0
            contrastWeight = 0
            statisticsWeight = 0
            studentWarmupEpochs = 0
        case .dfq:
            epochs = 200
            iterationsPerEpoch = 40
            studentSteps = 10
            embeddings = .none
            generatorMilestones = []
            studentLearningRate = 0.05
            studentWeightDecay = 1e-4
            studentSchedule = .multistep
            studentMilestones = [120, 150, 180]
            studentWarmupEpochs = 0
            logL2Weight = 0
            generatorCrossEntropyWeight = 0
            studentCrossEntropyWeight = 0
            contrastWeight = 0
            statisticsWeight = 1
            oneHotWeight = 1
            entropyWeight = 20
            entropyForm = .sumLn
        }
    }

}
