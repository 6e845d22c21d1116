import Foundation

/// Learning rate as a function of (possibly fractional) epochs, so a schedule can be applied
/// per epoch or per iteration. Schedules are stateless: resuming needs only the epoch.
public protocol LearningRateSchedule: Sendable {
    func learningRate(atEpoch epoch: Double) -> Float
}

/// base * gamma^(number of milestones passed), PyTorch's MultiStepLR.
public struct MultiStepSchedule: LearningRateSchedule {
    public let base: Float, milestones: [Int], gamma: Float
    public init(base: Float, milestones: [Int], gamma: Float = 0.1) {
        self.base = base
        self.milestones = milestones.sorted()
        self.gamma = gamma
    }
    public func learningRate(atEpoch epoch: Double) -> Float {
        let passed = milestones.filter { Double($0) <= epoch }.count
        return base * Foundation.pow(gamma, Float(passed))
    }
}

/// Linear warm-up from base/warmup to base over `warmupEpochs`, then cosine decay to
/// `minimum` at `totalEpochs`.
public struct CosineWarmupSchedule: LearningRateSchedule {
    public let base: Float, warmupEpochs: Double, totalEpochs: Double, minimum: Float
    public init(base: Float, warmupEpochs: Double, totalEpochs: Double, minimum: Float = 0) {
        precondition(totalEpochs > warmupEpochs, "the cosine phase needs total epochs beyond the warm-up")
        self.base = base
        self.warmupEpochs = warmupEpochs
        self.totalEpochs = totalEpochs
        self.minimum = minimum
    }
    public func learningRate(atEpoch epoch: Double) -> Float {
        if epoch < warmupEpochs { return base * Float((epoch + 1) / (warmupEpochs + 1)) }
        let progress = min(1, (epoch - warmupEpochs) / (totalEpochs - warmupEpochs))
        return minimum + (base - minimum) * Float(0.5 * (1 + Foundation.cos(Double.pi * progress)))
    }
}

/// Straight line from base at epoch 0 to `final` at `totalEpochs`, constant after.
public struct LinearDecaySchedule: LearningRateSchedule {
    public let base: Float, final: Float, totalEpochs: Double
    public init(base: Float, final: Float = 0, totalEpochs: Double) {
        self.base = base
        self.final = final
        self.totalEpochs = totalEpochs
    }
    public func learningRate(atEpoch epoch: Double) -> Float {
        base + (final - base) * Float(min(1, max(0, epoch / totalEpochs)))
    }
}
