import Data
import Distributed
import Foundation
import NeuralNetwork
import TensorEngine
import Training

/// Running sums of named loss terms, for per-epoch means.
public struct TermAverages: Equatable {
    private var sums: [String: Double] = [:]
    private var counts: [String: Int] = [:]

    public init() {}

    mutating func add(_ terms: [String: Double]) {
        for (name, value) in terms {
            sums[name, default: 0] += value
            counts[name, default: 0] += 1
        }
    }

    public var means: [String: Double] {
        Dictionary(uniqueKeysWithValues: sums.map { name, sum in (name, sum / Double(counts[name] ?? 1)) })
    }

    /// The sums under `group/sums/TERM` and the counts under `group/counts/TERM`, so that an
    /// epoch resumed in its middle reports the means of all its iterations.
    func archive(into archive: inout StateArchive, group: String) {
        for name in sums.keys.sorted() {
            archive.add("\(group)/sums/\(name)", scalar: sums[name]!)
            archive.add("\(group)/counts/\(name)", scalar: counts[name]!)
        }
    }

    init(from archive: StateArchive, group: String) throws {
        for name in archive.members(of: group + "/sums") {
            sums[name] = try archive.double("\(group)/sums/\(name)")
            counts[name] = try archive.integer("\(group)/counts/\(name)")
        }
    }
}

/// The weighted loss terms of one step: their sum to minimise, and each term's value.
struct WeightedTerms {
    private var terms: [(name: String, weight: Float, loss: Tensor)] = []

    var isEmpty: Bool { terms.isEmpty }

    mutating func add(_ name: String, _ weight: Float, _ loss: Tensor) { terms.append((name, weight, loss)) }

    var total: Tensor { terms.dropFirst().reduce(terms[0].loss * terms[0].weight) { $0 + $1.loss * $1.weight } }

    /// Each term's unweighted value and, under `totalName`, `total`'s.
    func values(_ total: Tensor, totalName: String) -> [String: Double] {
        var values = Dictionary(uniqueKeysWithValues: terms.map { ($0.name, Double($0.loss.item)) })
        values[totalName] = Double(total.item)
        return values
    }
}

/// One data-free distillation: a frozen teacher, a student, a generator (and for the
/// contrastive term a projector), their optimizers, and the steps of the configured method.
public final class DistillationRun {
    public let configuration: DistillationConfiguration
    public let teacher: any Classifier, student: any Classifier
    public let generator: Generator
    /// Maps student features to the teacher's width for the contrastive loss; trained with
    /// the generator. Nil when the widths match (identity) or the term is off.
    public let projector: Sequential?
    public let losses: DistillationLosses
    let generatorOptimizer: Adam
    let studentOptimizer: Optimizer
    /// The generator's and projector's parameters, with the last generator step's gradient
    /// (averaged over ranks).
    public var generatorParameters: FlatParameters { generatorOptimizer.parameters }
    /// The student's parameters, with the last student step's gradient (averaged over ranks).
    public var studentParameters: FlatParameters { studentOptimizer.parameters }
    /// The average of the student's weights that the run evaluates and saves, when
    /// `student-ema` is above 0.
    public let studentAverage: WeightAverage?
    /// The student the run evaluates and saves: the weight average, else the student.
    public var evaluatedStudent: any Classifier { studentAverage?.model ?? student }
    private let studentSchedule: any LearningRateSchedule
    private let generatorSchedule: MultiStepSchedule
    /// How much of the run was done when the epoch being trained began, from 0 to 1: of
    /// `--minutes` when the run has a budget, else of its epochs. The driver sets it at each
    /// epoch's end; the schedules given as fractions of the run read it; checkpoints keep it,
    /// so a resumed run follows the same schedule.
    public var completedFraction = 0.0
    private var draws: UInt64 = 0
    /// The ranks of the run; this rank holds its share of every batch.
    public let communicator: Communicator
    private let imageShape: [Int]
    /// C, H, W of the generated images.
    public var generatorImageShape: [Int] { imageShape }

    /// `averagedStudent` is a second instance of the student's architecture, needed when
    /// `student-ema` is above 0: it becomes the weight average. `inputNormalization`, the
    /// teacher's, places a bounded generator's images (`generator-output: bounded`).
    public init(teacher: any Classifier, student: any Classifier, averagedStudent: (any Classifier)? = nil, imageShape: [Int], classes: Int,
                configuration c: DistillationConfiguration, inputNormalization: Normalization? = nil,
                communicator: Communicator = SingleProcess()) {
        configuration = c
        self.imageShape = imageShape
        self.teacher = teacher
        self.student = student
        self.communicator = communicator
        let scope: any BatchScope = communicator.size > 1 ? RankBatch(communicator) : LocalBatch.shared
        losses = DistillationLosses(scope: scope)
        teacher.eval()
        teacher.freeze()
        for layer in teacher.batchNorms { layer.recordsInputMoments = c.statisticsWeight > 0 }
        generator = Generator(shape: .init(noise: c.noise, widths: c.generatorWidths, imageSize: imageShape[1],
                                           channels: imageShape[0], classes: classes, innerEpsilon: c.generatorInnerEpsilon),
                              placement: c.embeddings).initialize(seed: c.seed &+ 1)
        if c.generatorOutput == .bounded {
            guard let inputNormalization else { preconditionFailure("generator-output bounded needs the teacher's input normalisation") }
            generator.outputRange = inputNormalization.pixelRange
        }
        for layer in teacher.batchNorms + student.batchNorms + generator.batchNorms { layer.momentsScope = scope }
        let probe = Tensor.zeros([2] + imageShape)
        let widths = withoutGradient { (teacher.features(probe).shape[1], student.features(probe).shape[1]) }
        if c.contrastWeight > 0 && widths.0 != widths.1 {
            projector = Sequential(Linear(widths.1, widths.0), ReLU(), Linear(widths.0, widths.0)).initialize(seed: c.seed &+ 2)
        } else {
            projector = nil
        }
        for module in [teacher, student, generator] + (projector.map { [$0] } ?? []) as [Module] {
            Replicas.broadcast(module, over: communicator)
        }
        let generatorParameters = generator.namedParameters(prefix: "generator.") + (projector?.namedParameters(prefix: "projector.") ?? [])
        generatorOptimizer = Adam(parameters: FlatParameters(generatorParameters), learningRate: c.generatorLearningRate,
                                  betas: (c.generatorBeta1, c.generatorBeta2))
        let studentParameters = FlatParameters(student.namedParameters())
        switch c.studentOptimizer {
        case .adam:
            studentOptimizer = Adam(parameters: studentParameters, learningRate: c.studentLearningRate, weightDecay: c.studentWeightDecay)
        case .sgd:
            studentOptimizer = SGD(parameters: studentParameters, learningRate: c.studentLearningRate, momentum: c.studentMomentum,
                                   weightDecay: c.studentWeightDecay, nesterov: c.studentNesterov)
        }
        switch c.studentSchedule {
        case .cosine: studentSchedule = CosineWarmupSchedule(base: c.studentLearningRate, warmupEpochs: c.effectiveStudentWarmupEpochs,
                                                              totalEpochs: Double(c.epochs))
        case .multistep: studentSchedule = MultiStepSchedule(base: c.studentLearningRate, milestones: c.studentMilestones)
        case .constant: studentSchedule = MultiStepSchedule(base: c.studentLearningRate, milestones: [])
        case .linear: studentSchedule = LinearDecaySchedule(base: c.studentLearningRate, totalEpochs: Double(c.epochs))
        }
        generatorSchedule = MultiStepSchedule(base: c.generatorLearningRate, milestones: c.generatorMilestones, gamma: c.generatorGamma)
        precondition((c.studentAverageDecay > 0) == (averagedStudent != nil), "student-ema needs an averaged student, and only it")
        studentAverage = averagedStudent.map { WeightAverage(of: student, into: $0, decay: c.studentAverageDecay) }
        checkReplicas()
    }

    /// In debug builds: every rank's teacher, student, generator and projector are the same.
    private func checkReplicas() {
        for (module, name) in [(teacher, "teacher"), (student, "student"), (generator, "generator")] as [(Module, String)]
            + (projector.map { [($0, "projector")] } ?? []) + (studentAverage.map { [($0.model, "averaged student")] } ?? []) {
            Replicas.assertIdentical(module, name, over: communicator)
        }
    }

    /// Noise and conditional labels of the next draw. Sample i of draw d depends only on
    /// the seed, d and i, so the global batch does not depend on how it is split over ranks.
    public func draw(samples: Range<Int>? = nil) -> (noise: Tensor, labels: [Int]) {
        let range = samples ?? communicator.share(of: configuration.batchSize)
        let nz = configuration.noise
        let noiseRandom = Philox(seed: configuration.seed, stream: 2 * draws)
        let labelRandom = Philox(seed: configuration.seed, stream: 2 * draws + 1)
        draws += 1
        var values: [Float] = []
        values.reserveCapacity(range.count * nz)
        for i in range { values += noiseRandom.normal(count: nz, offset: UInt64(i * nz)) }
        let classes = generator.shape.classes
        let labels = range.map { min(classes - 1, Int(labelRandom.uniform(count: 1, offset: UInt64($0))[0] * Float(classes))) }
        return (Tensor(shape: [range.count, nz], values: values), labels)
    }

    /// Images of standard normal pixels (in the teacher's normalised input space), keyed
    /// like `draw()`.
    private func drawNoiseImages() -> Tensor {
        let range = communicator.share(of: configuration.batchSize)
        let pixels = imageShape.reduce(1, *)
        let random = Philox(seed: configuration.seed, stream: 2 * draws)
        draws += 1
        return Tensor(shape: [range.count] + imageShape, values: random.normal(count: range.count * pixels, offset: UInt64(range.lowerBound * pixels)))
    }

    /// The labels of the pseudo-supervised terms: the conditional labels the images were
    /// drawn for, or for an unconditional generator (which ignores them) the teacher's classes.
    private func pseudoLabels(drawn: [Int], teacher logits: Tensor) -> [Int] {
        generator.isConditional ? drawn : Evaluation.predictedClasses(logits)
    }

    /// The last generator step's draw, images, conditional labels (nil for a generator
    /// without them) and teacher logits: what the sample shards keep.
    public private(set) var lastGenerated: (draw: UInt64, images: Tensor, labels: [Int]?, logits: Tensor)?

    /// This rank's rows of the last generator step's batch, for the sample shards.
    public func lastGeneratedBatch(epoch: Int, iteration: Int) -> GeneratedBatch? {
        guard let (draw, images, labels, logits) = lastGenerated else { return nil }
        let rows = communicator.share(of: configuration.batchSize)
        return GeneratedBatch(globalIteration: epoch * configuration.iterationsPerEpoch + iteration, epoch: epoch, iteration: iteration,
                              indices: rows.map { Int64(draw) * Int64(configuration.batchSize) + Int64($0) }, images: images.toArray(),
                              labels: labels?.map(Int64.init), logits: logits.toArray())
    }

    /// One generator step; returns its loss terms, the images it generated and their pseudo-labels.
    /// A non-finite loss or gradient throws `Divergence` before any weight changes.
    public func generatorStep() throws -> (terms: [String: Double], images: Tensor, labels: [Int]) {
        let c = configuration
        generator.train()
        student.train()
        student.freeze()
        let studentNorms = student.batchNorms
        for layer in studentNorms { layer.updatesRunningStatistics = false }
        defer {
            student.freeze(false)
            for layer in studentNorms { layer.updatesRunningStatistics = true }
        }
        let drawIndex = draws
        let (z, drawn) = draw()
        let images = generator(z, labels: drawn)
        let teacherFeatures = teacher.features(images)
        let t = teacher.logits(fromFeatures: teacherFeatures)
        lastGenerated = (drawIndex, images.detached(), generator.isConditional ? drawn : nil, t.detached())
        let labels = pseudoLabels(drawn: drawn, teacher: t)
        let discrepancy = c.adversarial && (c.kdWeight > 0 || c.logL2Weight > 0 || c.l1Weight > 0)
        var studentFeatures: Tensor?, s: Tensor?
        if discrepancy || c.contrastWeight > 0 {
            studentFeatures = student.features(images)
            s = student.logits(fromFeatures: studentFeatures!)
        }
        var terms = WeightedTerms()
        if discrepancy, let s {
            if c.kdWeight > 0 { terms.add("g_kd", -c.kdWeight, losses.kd(teacher: t, student: s, temperature: c.kdTemperature)) }
            if c.logL2Weight > 0 {
                let (name, value) = losses.l2(teacher: t, student: s, form: c.l2Form)
                terms.add("g_" + name, -c.logL2Weight, value)
            }
            if c.l1Weight > 0 { terms.add("g_l1", -c.l1Weight, losses.l1(teacher: t, student: s)) }
        }
        if c.generatorCrossEntropyWeight > 0 { terms.add("g_ce", c.generatorCrossEntropyWeight, losses.crossEntropy(t, labels: labels)) }
        if c.statisticsWeight > 0 && !teacher.batchNorms.isEmpty {
            terms.add("g_bns", c.statisticsWeight, losses.batchStatistics(teacher.batchNorms, form: c.statisticsForm))
        }
        if c.contrastWeight > 0, let studentFeatures {
            let projected = projector.map { $0(studentFeatures) } ?? studentFeatures
            terms.add("g_contrast", c.contrastWeight, losses.contrastive(teacherFeatures: teacherFeatures, studentFeatures: projected,
                                                                    labels: labels, temperature: c.contrastTemperature))
        }
        if c.oneHotWeight > 0 { terms.add("g_one_hot", c.oneHotWeight, losses.oneHot(teacher: t)) }
        if c.entropyWeight > 0 { terms.add("g_entropy", c.entropyWeight, losses.informationEntropy(teacher: t, form: c.entropyForm)) }
        if c.activationWeight > 0 { terms.add("g_activation", c.activationWeight, losses.activation(features: teacherFeatures, form: c.activationForm)) }
        if c.totalVariationWeight > 0 { terms.add("g_total_variation", c.totalVariationWeight, losses.totalVariation(images)) }
        precondition(!terms.isEmpty, "the generator step has no loss term switched on (DistillationConfiguration.inconsistencies)")
        let total = terms.total
        let values = terms.values(total, totalName: "g_total")
        try Divergence.check(values, in: "the generator step")
        generatorOptimizer.zeroGradients()
        total.backward()
        Replicas.averageGradients(generatorOptimizer.parameters, over: communicator)
        try Divergence.check(gradientsOf: generatorOptimizer.parameters, in: "the generator step")
        generatorOptimizer.step()
        return (values, images.detached(), labels)
    }

    /// One student step on `batch`, or on a fresh draw of the generator (of noise images for
    /// the noise reference); with `storedLogits` (the teacher's logits on `batch`, kept in
    /// sample shards) the teacher is not run.
    public func studentStep(on batch: (images: Tensor, labels: [Int])? = nil, storedLogits: Tensor? = nil) throws -> [String: Double] {
        let c = configuration
        // Labels known before the teacher sees the images; the others are the teacher's classes.
        let images: Tensor, knownLabels: [Int]?
        if let batch {
            (images, knownLabels) = (batch.images, batch.labels)
        } else if c.method == .noise {
            (images, knownLabels) = (drawNoiseImages(), nil)
        } else {
            let (z, drawn) = draw()
            generator.train()
            (images, knownLabels) = (withoutGradient { generator(z, labels: drawn) }, generator.isConditional ? drawn : nil)
        }
        let t = storedLogits ?? withoutGradient { teacher(images) }
        let labels = knownLabels ?? Evaluation.predictedClasses(t)
        student.train()
        let s = student(images)
        var terms = WeightedTerms()
        if c.kdWeight > 0 { terms.add("s_kd", c.kdWeight, losses.kd(teacher: t, student: s, temperature: c.kdTemperature)) }
        if c.logL2Weight > 0 {
            let (name, value) = losses.l2(teacher: t, student: s, form: c.l2Form)
            terms.add("s_" + name, c.logL2Weight, value)
        }
        if c.l1Weight > 0 { terms.add("s_l1", c.l1Weight, losses.l1(teacher: t, student: s)) }
        if c.studentCrossEntropyWeight > 0 { terms.add("s_ce", c.studentCrossEntropyWeight, losses.crossEntropy(s, labels: labels)) }
        precondition(!terms.isEmpty, "the student step has no loss term switched on")
        let total = terms.total
        let values = terms.values(total, totalName: "s_total")
        try Divergence.check(values, in: "the student step")
        studentOptimizer.zeroGradients()
        total.backward()
        Replicas.averageGradients(studentOptimizer.parameters, over: communicator)
        try Divergence.check(gradientsOf: studentOptimizer.parameters, in: "the student step")
        studentOptimizer.step()
        studentAverage?.update()
        return values
    }

    /// One supervised student step on real labelled images (GIP's real-data iterations);
    /// `batch` holds this rank's share.
    func realStep(_ batch: Batch) throws -> [String: Double] {
        student.train()
        let loss = losses.crossEntropy(student(batch.images), labels: batch.labels)
        let values = ["real_ce": Double(loss.item)]
        try Divergence.check(values, in: "the real-data step")
        studentOptimizer.zeroGradients()
        loss.backward()
        Replicas.averageGradients(studentOptimizer.parameters, over: communicator)
        try Divergence.check(gradientsOf: studentOptimizer.parameters, in: "the real-data step")
        studentOptimizer.step()
        studentAverage?.update()
        return values
    }

    /// The loss terms of the running epoch's iterations so far.
    public private(set) var epochTerms = TermAverages()

    /// Iteration `iteration` of epoch `epoch`: the generator steps, then the student steps.
    /// A diverging step throws `Divergence` naming the epoch and iteration (counted from 1).
    public func runIteration(epoch: Int, iteration: Int) throws {
        do { try steps(epoch: epoch, iteration: iteration) } catch let divergence as Divergence {
            throw divergence.at("epoch \(epoch + 1), iteration \(iteration + 1)")
        }
    }

    /// Samples kept by an earlier run: with them every iteration is student steps on their
    /// batches and stored teacher logits, and the generator is not used.
    public var storedSamples: StoredSamples?

    private func steps(epoch: Int, iteration: Int) throws {
        let c = configuration
        let fractionsPassed = c.generatorMilestoneFractions.filter { $0 <= completedFraction }.count
        generatorOptimizer.learningRate = generatorSchedule.learningRate(atEpoch: Double(epoch)) * pow(c.generatorGamma, Float(fractionsPassed))
        studentOptimizer.learningRate = studentSchedule.learningRate(atEpoch: Double(epoch) + Double(iteration) / Double(c.iterationsPerEpoch))
        if let storedSamples {
            for step in 0..<c.studentSteps {
                let position = (epoch * c.iterationsPerEpoch + iteration) * c.studentSteps + step
                let batch = storedSamples.batch(position, batchSize: c.batchSize, rows: communicator.share(of: c.batchSize))
                epochTerms.add(try studentStep(on: (batch.images, batch.labels), storedLogits: batch.logits))
            }
            return
        }
        var last: (images: Tensor, labels: [Int])?
        func generatorSteps() throws {
            for _ in 0..<c.generatorSteps {
                let (terms, images, labels) = try generatorStep()
                epochTerms.add(terms)
                last = (images, labels)
            }
        }
        if !c.studentStepsFirst { try generatorSteps() }
        for _ in 0..<c.studentSteps {
            epochTerms.add(try studentStep(on: c.studentReusesGeneratorBatch ? last : nil))
        }
        if c.studentStepsFirst { try generatorSteps() }
    }

    /// Ends epoch `epoch` after its iterations: the real-data iterations on `real` (if any);
    /// returns the mean of every term of the epoch and the learning rates, and starts the
    /// next epoch's sums.
    public func finishEpoch(_ epoch: Int, real: BatchSource? = nil) throws -> [String: Double] {
        if let real, configuration.realPasses > 0 {
            let order = real.order(epoch: epoch)
            for index in 0..<Int((configuration.realPasses * Double(real.batchesPerEpoch)).rounded(.up)) {
                do {
                    epochTerms.add(try realStep(real.batch(index % real.batchesPerEpoch, epoch: epoch, order: order,
                                                           rows: communicator.share(of: real.batchSize))))
                } catch let divergence as Divergence {
                    throw divergence.at("epoch \(epoch + 1), real-data iteration \(index + 1)")
                }
            }
        }
        checkReplicas()
        var means = epochTerms.means
        means["student_lr"] = Double(studentOptimizer.learningRate)
        means["generator_lr"] = Double(generatorOptimizer.learningRate)
        epochTerms = TermAverages()
        return means
    }

    /// One whole epoch: every iteration, then `finishEpoch`. Returns the mean of every term.
    public func runEpoch(_ epoch: Int, real: BatchSource? = nil) throws -> [String: Double] {
        for iteration in 0..<configuration.iterationsPerEpoch { try runIteration(epoch: epoch, iteration: iteration) }
        return try finishEpoch(epoch, real: real)
    }

    // MARK: State

    /// Everything that changes as the run trains: the generator's, student's and projector's
    /// parameters and buffers, the student's weight average, both optimizers, the draw
    /// counter, the running epoch's term sums and the share of the run done. The teacher is
    /// frozen and the schedules are functions of the position and that share.
    public func archive(into archive: inout StateArchive) {
        generator.archive(into: &archive, group: "generator")
        student.archive(into: &archive, group: "student")
        projector?.archive(into: &archive, group: "projector")
        studentAverage?.archive(into: &archive, group: "student_average")
        generatorOptimizer.archive(into: &archive, group: "optimizers/generator")
        studentOptimizer.archive(into: &archive, group: "optimizers/student")
        archive.add("random/draws", scalar: Int(draws))
        epochTerms.archive(into: &archive, group: "epoch_terms")
        archive.add(Self.completedFractionName, scalar: completedFraction)
    }

    private static let completedFractionName = "schedule/completed_fraction"

    /// Restores what `archive(into:)` stored, on every rank alike.
    public func restore(from archive: StateArchive) throws {
        try generator.restore(from: archive, group: "generator")
        try student.restore(from: archive, group: "student")
        if let projector {
            try projector.restore(from: archive, group: "projector")
        } else if !archive.members(of: "projector").isEmpty {
            throw StateArchiveError.mismatch("projector", ["the checkpoint has a projector; this run's contrastive term needs none"])
        }
        if let studentAverage {
            try studentAverage.restore(from: archive, group: "student_average")
        } else if !archive.members(of: "student_average").isEmpty {
            throw StateArchiveError.mismatch("student_average", ["the checkpoint has a weight average of the student; this run keeps none"])
        }
        try generatorOptimizer.restore(from: archive, group: "optimizers/generator")
        try studentOptimizer.restore(from: archive, group: "optimizers/student")
        draws = UInt64(try archive.integer("random/draws"))
        // Checkpoints written before schedules followed the run's share have none: no share was read.
        completedFraction = archive.names.contains(Self.completedFractionName) ? try archive.double(Self.completedFractionName) : 0
        epochTerms = try TermAverages(from: archive, group: "epoch_terms")
        checkReplicas()
    }
}
