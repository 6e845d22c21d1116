import Distillation
import NeuralNetwork
import TensorEngine
import XCTest

/// The probe bank, the choice of the kept student on it, and the report of collapsed classes:
/// what a run without real images knows of its students and its generator.
final class StudentSelectionTests: XCTestCase {
    private let classes = 10

    private func generator(seed: UInt64) -> Generator {
        Generator(shape: .init(noise: 8, widths: [8, 8, 4], channels: 1, classes: classes), placement: .all).initialize(seed: seed)
    }

    private func lenet(seed: UInt64) -> any Classifier {
        Architecture.lenet5Half.make(inputChannels: 1, classes: classes).initialize(seed: seed)
    }

    /// Algorithm R keeps every state offered with the same probability, capacity / states:
    /// over many seeds, each of 12 states lands in a bank of 4 about a third of the time, the
    /// first ones as often as the last.
    func testTheBankKeepsEveryGeneratorStateWithTheSameProbability() {
        let (capacity, states, seeds) = (4, 12, 3000)
        var kept = [Int](repeating: 0, count: states)
        for seed in 0..<seeds {
            var slots = [Int](repeating: -1, count: capacity)
            for state in 1...states {
                if let slot = ProbeBank.slot(forState: state, capacity: capacity, seed: UInt64(seed), epoch: state) { slots[slot] = state }
            }
            XCTAssertFalse(slots.contains(-1), "a full bank after \(states) states")
            for state in slots { kept[state - 1] += 1 }
        }
        let expected = Double(seeds * capacity) / Double(states)
        for (index, count) in kept.enumerated() {
            // Binomial standard deviation sqrt(3000 * 1/3 * 2/3) = 26: five of them.
            XCTAssertEqual(Double(count), expected, accuracy: 130, "state \(index + 1) kept \(count) times, expected about \(expected)")
        }
    }

    /// The same seed keeps the same probes, and a checkpoint's copy of the bank restores it
    /// to the bit.
    func testTheBankIsDeterministicAndRestoresExactly() throws {
        let teacher = lenet(seed: 1)
        func filled(_ seed: UInt64) -> ProbeBank {
            let bank = ProbeBank(capacity: 3, images: 20, seed: seed)
            let generator = generator(seed: 2)
            for epoch in 1...7 { bank.offer(generator, teacher: teacher, epoch: epoch) }
            return bank
        }
        let bank = filled(5), again = filled(5), other = filled(6)
        XCTAssertEqual(bank.probes.count, 3)
        XCTAssertEqual(bank.probes.map(\.epoch), again.probes.map(\.epoch))
        XCTAssertEqual(bank.images.toArray(), again.images.toArray())
        XCTAssertNotEqual(bank.images.toArray(), other.images.toArray(), "another seed draws other noise")
        XCTAssertEqual(bank.probes[0].requested, (0..<20).map { $0 % classes }, "a conditional generator's probe spans the classes evenly")

        var archive = StateArchive()
        bank.archive(into: &archive, group: "probes")
        let restored = ProbeBank(capacity: 3, images: 20, seed: 5)
        try restored.restore(from: archive, group: "probes")
        XCTAssertEqual(restored.offered, 7)
        XCTAssertEqual(restored.probes.map(\.epoch), bank.probes.map(\.epoch))
        XCTAssertEqual(restored.images.toArray().map(\.bitPattern), bank.images.toArray().map(\.bitPattern))
        XCTAssertEqual(restored.teacherLogits.toArray().map(\.bitPattern), bank.teacherLogits.toArray().map(\.bitPattern))
        XCTAssertEqual(restored.probes.map(\.requested), bank.probes.map(\.requested))
    }

    /// A student that is the teacher scores no divergence and full agreement; once picked it
    /// holds against a stranger, which the newest-student rule would have kept instead.
    func testThePickIsTheStudentClosestToTheTeacherOnTheBank() throws {
        let teacher = lenet(seed: 1), twin = lenet(seed: 1), stranger = lenet(seed: 9)
        let generator = generator(seed: 2)
        func selection(_ rule: StudentSelection.Rule) -> StudentSelection {
            StudentSelection(rule: rule, bank: ProbeBank(capacity: 4, images: 30, seed: 3), holder: lenet(seed: 7))
        }
        for rule in StudentSelection.Rule.allCases {
            let chooser = selection(rule)
            var scores: [ProbeScore] = []
            for (epoch, student) in [stranger, twin, stranger].enumerated() {
                chooser.bank.offer(generator, teacher: teacher, epoch: epoch + 1)
                scores.append(try chooser.consider(student, epoch: epoch + 1))
            }
            XCTAssertEqual(scores[1].divergence, 0, accuracy: 1e-6, "\(rule)")
            XCTAssertEqual(scores[1].agreement, 100, "\(rule)")
            XCTAssertGreaterThan(scores[2].divergence, 1e-3, "\(rule): the stranger differs from the teacher")
            XCTAssertLessThan(scores[2].agreement, 80, "\(rule): the stranger disagrees with the teacher on many images")
            let pick = try XCTUnwrap(chooser.pick)
            let kept = try XCTUnwrap(try chooser.pickedStudent())
            let expected = rule == .last ? (3, stranger) : (2, twin)
            XCTAssertEqual(pick.epoch, expected.0, "\(rule)")
            for ((name, tensor), (_, reference)) in zip(kept.namedFloatState(), expected.1.namedFloatState()) {
                XCTAssertEqual(tensor.toArray(), reference.toArray(), "\(rule): the kept \(name) is the picked epoch's")
            }

            var archive = StateArchive()
            chooser.archive(into: &archive, group: "selection")
            chooser.bank.archive(into: &archive, group: "probes")
            let restored = selection(rule)
            try restored.restore(from: archive, group: "selection")
            XCTAssertEqual(restored.pick?.epoch, pick.epoch)
            XCTAssertEqual(restored.pick?.score.agreement, pick.score.agreement)
            XCTAssertEqual(restored.pick?.score.divergence, pick.score.divergence)
            XCTAssertEqual(restored.pick?.state, pick.state)
        }
    }

    /// The agreement rule keeps the newer student unless the holder agrees with the teacher on
    /// significantly more images, counted where the two differ (McNemar's z above 2).
    func testTheHolderStaysOnlyWhenSignificantlyCloser() {
        func scores(onlyHolder: Int, onlyChallenger: Int, both: Int) -> (ProbeScore, ProbeScore) {
            let held = [Bool](repeating: true, count: onlyHolder + both) + [Bool](repeating: false, count: onlyChallenger)
            let challenger = [Bool](repeating: false, count: onlyHolder) + [Bool](repeating: true, count: both + onlyChallenger)
            return (ProbeScore(agreement: 0, divergence: 0, agreeing: held), ProbeScore(agreement: 0, divergence: 0, agreeing: challenger))
        }
        for (onlyHolder, onlyChallenger, stays) in [(20, 10, false), (25, 5, true), (5, 0, true), (4, 0, false), (0, 0, false), (10, 20, false)] {
            let (held, challenger) = scores(onlyHolder: onlyHolder, onlyChallenger: onlyChallenger, both: 100)
            XCTAssertEqual(StudentSelection.holderStays(held, against: challenger, rule: .agreement), stays,
                           "\(onlyHolder) images only the holder agrees on, \(onlyChallenger) only the challenger")
        }
        let (closer, farther) = (ProbeScore(agreement: 50, divergence: 0.5), ProbeScore(agreement: 90, divergence: 0.6))
        XCTAssertTrue(StudentSelection.holderStays(closer, against: farther, rule: .divergence))
        XCTAssertFalse(StudentSelection.holderStays(farther, against: closer, rule: .divergence))
        XCTAssertFalse(StudentSelection.holderStays(closer, against: farther, rule: .last))
    }

    /// A probe of `perClass` images of each class: class 3's flat (a different grey each),
    /// class 5's copies of one image, class 7's all seen by the teacher as class 8.
    private func damagedProbe(perClass: Int) -> ProbeBank.Probe {
        let pixels = 16, count = classes * perClass
        let random = Philox(seed: 4, name: "health")
        var images = random.normal(count: count * pixels)
        let requested = (0..<count).map { $0 % classes }
        let single = random.normal(count: pixels, offset: UInt64(count * pixels))
        for i in 0..<count {
            switch requested[i] {
            case 3: for p in 0..<pixels { images[i * pixels + p] = Float(i) / 10 }
            case 5: for p in 0..<pixels { images[i * pixels + p] = single[p] }
            default: break
            }
        }
        let seen = requested.map { $0 == 7 ? 8 : $0 }
        let logits = seen.flatMap { c in (0..<classes).map { $0 == c ? Float(5) : 0 } }
        return ProbeBank.Probe(epoch: 1, images: Tensor(shape: [count, 1, 4, 4], values: images), requested: requested,
                               teacherLogits: Tensor(shape: [count, classes], values: logits))
    }

    /// Classes drawn as flat images, as copies of one image, or that the teacher never sees
    /// are named with the reason; the others are not.
    func testCollapsedClassesAreNamedWithTheirReasons() {
        let health = GenerationHealth(damagedProbe(perClass: GenerationHealth.imagesToCount))
        XCTAssertEqual(health.collapsed.map(\.classIndex), [3, 5, 7])
        XCTAssertEqual(health.collapsed.map(\.reasons), [[.flat], [.single], [.rare, .unrecognised]])
        XCTAssertFalse(health.generatorCollapsed)
        XCTAssertEqual(health.shares[8], 20, accuracy: 1e-9)
        XCTAssertEqual(health.warning, "collapsed classes 3 (flat), 5 (single), 7 (rare, unrecognised)")
    }

    /// With too few images a class to count, a class's share and recognition are not judged;
    /// flat and single images still are.
    func testFewImagesAClassJudgeOnlyTheImages() {
        let health = GenerationHealth(damagedProbe(perClass: GenerationHealth.imagesToCount - 1))
        XCTAssertEqual(health.collapsed.map(\.classIndex), [3, 5])
        XCTAssertEqual(health.collapsed.map(\.reasons), [[.flat], [.single]])
    }
}
