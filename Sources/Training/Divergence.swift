import TensorEngine

/// A training step whose loss or gradient is not finite (a learning rate too large, a
/// temperature too small, a broken teacher). It is raised before the step changes any
/// weight, so the model in memory and every checkpoint written so far are still good, and
/// the run ends with `exitStatus` instead of training on NaN. Losses and gradients are the
/// whole batch's, the same on every rank, so every rank of a job raises it at the same step.
public struct Divergence: Error, CustomStringConvertible {
    /// The status of a run that ended this way.
    public static let exitStatus: Int32 = 3

    /// "the generator step", "the student step", ...
    public let step: String
    /// The loss term, or "the gradient".
    public let quantity: String
    public let value: Float
    /// Where in the run, e.g. "epoch 3, iteration 17"; filled in by the loop that knows.
    public var position = ""

    public var description: String {
        "diverged\(position.isEmpty ? "" : " at " + position): \(step)'s \(quantity) is \(value.isNaN ? "NaN" : "\(value)")"
    }

    /// Throws unless every named loss value is finite.
    public static func check(_ losses: [String: Double], in step: String, at position: String = "") throws {
        if let bad = losses.sorted(by: { $0.key < $1.key }).first(where: { !$0.value.isFinite }) {
            throw Divergence(step: step, quantity: bad.key, value: Float(bad.value), position: position)
        }
    }

    /// Throws unless every gradient of `parameters` is finite.
    public static func check(gradientsOf parameters: FlatParameters, in step: String, at position: String = "") throws {
        let size = parameters.gradientMagnitude
        guard size.isFinite else {
            throw Divergence(step: step, quantity: "the gradient (sum of magnitudes)", value: size, position: position)
        }
    }

    /// The same error placed in the run.
    public func at(_ position: String) -> Divergence {
        var placed = self
        placed.position = position
        return placed
    }
}
