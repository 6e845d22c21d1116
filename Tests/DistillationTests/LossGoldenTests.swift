import Distillation
import Foundation
import NeuralNetwork
import TensorEngine
import TestSupport
import XCTest

/// Every distillation loss against PyTorch (Tests/Goldens/make_goldens.py): value and input
/// gradients, the contrastive loss with repeated labels included.
final class LossGoldenTests: XCTestCase {
    private let losses = DistillationLosses()

    func testEveryLossMatchesPyTorch() throws {
        let file = try Goldens.load(GoldenCaseFile.self, from: "distillation.json")
        let table: [String: (GoldenCase, [String: Tensor]) -> [Tensor]] = [
            "kd_tau4": { _, i in [self.losses.kd(teacher: i["t"]!, student: i["s"]!, temperature: 4)] },
            "log_l2": { _, i in [self.losses.logL2(teacher: i["t"]!, student: i["s"]!)] },
            "mse": { _, i in [self.losses.l2(teacher: i["t"]!, student: i["s"]!, form: .mse).value] },
            "cross_entropy": { c, i in [self.losses.crossEntropy(i["s"]!, labels: c.labels!)] },
            "one_hot": { _, i in [self.losses.oneHot(teacher: i["t"]!)] },
            "information_entropy": { _, i in [self.losses.informationEntropy(teacher: i["t"]!)] },
            "information_entropy_sum_log10": { _, i in [self.losses.informationEntropy(teacher: i["t"]!, form: .sumLog10)] },
            "information_entropy_mean_ln": { _, i in [self.losses.informationEntropy(teacher: i["t"]!, form: .meanLn)] },
            "activation": { _, i in [self.losses.activation(features: i["f"]!)] },
            "activation_l1": { _, i in [self.losses.activation(features: i["f"]!, form: .l1)] },
            "l1": { _, i in [self.losses.l1(teacher: i["t"]!, student: i["s"]!)] },
            "contrastive": { c, i in [self.losses.contrastive(teacherFeatures: i["tf"]!, studentFeatures: i["sf"]!, labels: c.labels!)] },
            "bn_statistics_norms": { c, i in [self.statistics(c, i["x"]!, form: .norms)] },
            "bn_statistics_squares": { c, i in [self.statistics(c, i["x"]!, form: .squares)] },
            "total_variation": { _, i in [self.losses.totalVariation(i["x"]!)] },
        ]
        XCTAssertEqual(Set(file.cases.map(\.name)), Set(table.keys))
        for golden in file.cases {
            guard let loss = table[golden.name] else { continue }
            Goldens.check(golden) { loss(golden, $0) }
        }
    }

    /// The statistics loss of one batch-norm layer (eval mode, as a teacher) with the case's
    /// running statistics.
    private func statistics(_ golden: GoldenCase, _ x: Tensor, form: DistillationLosses.StatisticsForm) -> Tensor {
        let layer = BatchNorm2d(3)
        layer.eval()
        layer.recordsInputMoments = true
        layer.runningMean.pointer.update(from: golden.running_mean!.values, count: 3)
        layer.runningVariance.pointer.update(from: golden.running_var!.values, count: 3)
        _ = layer(x)
        return losses.batchStatistics([layer], form: form)
    }

    func testContrastiveLossByHandForTwoSamples() {
        // Two samples of different classes, teacher and student vectors equal: each anchor's
        // only positive is its twin (similarity 1/tau); negatives have similarity 0.
        let features = Tensor(shape: [2, 2], values: [1, 0, 0, 1])
        let loss = losses.contrastive(teacherFeatures: features, studentFeatures: features, labels: [0, 1], temperature: 0.5)
        let expected = -Foundation.log(Foundation.exp(2.0) / (Foundation.exp(2.0) + 2))
        XCTAssertEqual(Double(loss.item), expected, accuracy: 1e-5)
    }
}
