/// Whether ops record themselves for backward. Inference, evaluation and parameter updates
/// run inside `withoutGradient` so that they keep no activations alive.
public enum GradMode {
    @TaskLocal static var isEnabled = true

    public static var enabled: Bool { isEnabled }
}

/// Runs `body` with recording off; results do not require gradients.
public func withoutGradient<R>(_ body: () throws -> R) rethrows -> R {
    try GradMode.$isEnabled.withValue(false) { try body() }
}
