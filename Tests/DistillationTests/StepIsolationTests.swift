import Distillation
import NeuralNetwork
import TensorEngine
import Training
import XCTest

/// Each step changes exactly what it should: generator steps the generator (and the
/// projector), student steps the student; the teacher never changes, and the student's BN
/// running statistics do not move during generator steps.
final class StepIsolationTests: XCTestCase {
    private func snapshot(_ module: Module) -> [String: [Float]] {
        Dictionary(uniqueKeysWithValues: module.namedFloatState().map { ($0.0, $0.1.toArray()) })
    }

    private func changed(_ before: [String: [Float]], _ module: Module) -> Set<String> {
        Set(module.namedFloatState().filter { before[$0.0] != $0.1.toArray() }.map(\.0))
    }

    func testCPSCStepsUpdateOnlyTheirModules() throws {
        var configuration = DistillationConfiguration(method: .cpsc)
        configuration.batchSize = 8
        configuration.noise = 16
        configuration.generatorWidths = [16, 16, 8]
        let teacher = WideResNet(depth: 16, widen: 1, classes: 4).initialize(seed: 1)
        let student = LeNet5(inputChannels: 3, classes: 4, half: true).initialize(seed: 2)
        let run = DistillationRun(teacher: teacher, student: student, imageShape: [3, 32, 32], classes: 4, configuration: configuration)
        XCTAssertNotNil(run.projector, "student features (60) differ from the teacher's (64): a projector maps them")

        let teacherBefore = snapshot(teacher), studentBefore = snapshot(student)
        let generatorBefore = snapshot(run.generator), projectorBefore = snapshot(run.projector!)
        let (terms, _, _) = try run.generatorStep()
        for term in ["g_kd", "g_log_l2", "g_ce", "g_bns", "g_contrast"] { XCTAssertNotNil(terms[term], term) }
        XCTAssertTrue(changed(teacherBefore, teacher).isEmpty)
        XCTAssertTrue(changed(studentBefore, student).isEmpty, "the generator step must not move the student")
        let generatorChanged = changed(generatorBefore, run.generator)
        for parameter in run.generator.namedParameters() { XCTAssertTrue(generatorChanged.contains(parameter.0), parameter.0) }
        XCTAssertEqual(changed(projectorBefore, run.projector!).count, run.projector!.namedFloatState().count, "the projector is trained")

        let generatorAfter = snapshot(run.generator)
        let studentTerms = try run.studentStep()
        for term in ["s_kd", "s_log_l2", "s_ce"] { XCTAssertNotNil(studentTerms[term], term) }
        XCTAssertTrue(changed(teacherBefore, teacher).isEmpty)
        XCTAssertEqual(changed(studentBefore, student), Set(student.namedParameters().map(\.0)))
        // The generator's running statistics may move (it generates in training mode); its
        // parameters must not.
        let generatorParameters = Set(run.generator.namedParameters().map(\.0))
        XCTAssertTrue(changed(generatorAfter, run.generator).isDisjoint(with: generatorParameters))
    }

    /// A step whose loss or gradient is not finite throws Divergence before its optimizer
    /// moves anything: the generator and student keep their weights.
    func testDivergingStepsThrowBeforeAnyWeightChanges() throws {
        var configuration = DistillationConfiguration(method: .cpsc)
        configuration.batchSize = 8
        configuration.noise = 16
        configuration.generatorWidths = [16, 16, 8]
        let teacher = LeNet5(inputChannels: 3, classes: 4).initialize(seed: 1)
        let student = LeNet5(inputChannels: 3, classes: 4, half: true).initialize(seed: 2)
        let run = DistillationRun(teacher: teacher, student: student, imageShape: [3, 32, 32], classes: 4, configuration: configuration)
        try run.runIteration(epoch: 0, iteration: 0)
        // A teacher weight turned infinite: every loss that reads the teacher is NaN.
        teacher.namedParameters().last!.1.pointer[0] = .infinity
        let generatorBefore = snapshot(run.generator), studentBefore = snapshot(student)
        XCTAssertThrowsError(try run.runIteration(epoch: 0, iteration: 1)) { error in
            let divergence = error as? Divergence
            XCTAssertEqual(divergence?.position, "epoch 1, iteration 2")
            XCTAssertEqual(divergence?.step, "the generator step")
            XCTAssertFalse(divergence?.value.isFinite ?? true, "\(error)")
        }
        let generatorParameters = Set(run.generator.namedParameters().map(\.0))
        XCTAssertTrue(changed(generatorBefore, run.generator).isDisjoint(with: generatorParameters))
        XCTAssertTrue(changed(studentBefore, student).isEmpty)
        XCTAssertThrowsError(try run.studentStep()) { XCTAssertEqual(($0 as? Divergence)?.step, "the student step") }
        XCTAssertTrue(changed(studentBefore, student).isEmpty)
    }

    /// An unconditional generator ignores the drawn labels, so its pseudo-labels are the
    /// teacher's classes of the generated images.
    func testUnconditionalPseudoLabelsAreTheTeachersClasses() throws {
        var configuration = DistillationConfiguration(method: .cpsc)
        configuration.embeddings = .none
        configuration.batchSize = 16
        configuration.noise = 16
        configuration.generatorWidths = [8, 8, 4]
        let teacher = LeNet5(inputChannels: 1, classes: 5).initialize(seed: 1)
        let student = LeNet5(inputChannels: 1, classes: 5, half: true).initialize(seed: 2)
        let run = DistillationRun(teacher: teacher, student: student, imageShape: [1, 32, 32], classes: 5, configuration: configuration)
        let (_, images, labels) = try run.generatorStep()
        XCTAssertEqual(labels, Evaluation.predictedClasses(withoutGradient { teacher(images) }))
    }

    /// The noise reference trains the student on noise images; the generator stays as drawn.
    func testNoiseReferenceTrainsOnlyTheStudent() throws {
        var configuration = DistillationConfiguration(method: .noise)
        configuration.batchSize = 8
        configuration.iterationsPerEpoch = 2
        let teacher = LeNet5(inputChannels: 1, classes: 5).initialize(seed: 1)
        let student = LeNet5(inputChannels: 1, classes: 5, half: true).initialize(seed: 2)
        let run = DistillationRun(teacher: teacher, student: student, imageShape: [1, 32, 32], classes: 5, configuration: configuration)
        let teacherBefore = snapshot(teacher), studentBefore = snapshot(student), generatorBefore = snapshot(run.generator)
        let terms = try run.runEpoch(0)
        XCTAssertNotNil(terms["s_kd"])
        XCTAssertNil(terms["g_total"], "no generator step")
        XCTAssertTrue(changed(teacherBefore, teacher).isEmpty)
        XCTAssertTrue(changed(generatorBefore, run.generator).isEmpty)
        XCTAssertEqual(changed(studentBefore, student), Set(student.namedParameters().map(\.0)))
    }

    /// A CFE scales and shifts each sample by its own class's embedding.
    func testConditionalGeneratorFollowsItsLabels() throws {
        let generator = Generator(shape: .init(noise: 8, widths: [8, 8, 4], channels: 1, classes: 3), placement: .all).initialize(seed: 1)
        let cfe = generator.norms[3] as! CategoricalFeatureEmbedding
        // Class 2 doubles and shifts its output; class 0 keeps the identity embedding.
        cfe.gamma.pointer[2] = 2
        cfe.beta.pointer[2] = 0.5
        let z = Tensor.normal([4, 8], generator: Philox(seed: 3))
        let base = withoutGradient { generator(z, labels: [0, 0, 0, 0]) }.toArray()
        let mixed = withoutGradient { generator(z, labels: [0, 2, 0, 2]) }.toArray()
        let pixels = 32 * 32
        for i in 0..<pixels {
            XCTAssertEqual(mixed[i], base[i], accuracy: 1e-5)
            XCTAssertEqual(mixed[pixels + i], 2 * base[pixels + i] + 0.5, accuracy: 1e-4)
        }
    }
}
