import ArgumentParser

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure speed and memory against a reference run in the same invocation.",
        discussion: """
        Machines are noisy, so every figure comes with a reference measured in the same process \
        (raw oneDNN primitives for the engine's convolution). Threads follow OMP_NUM_THREADS (default 1).
        """,
        subcommands: [BenchConvolution.self, BenchModelConvolutions.self, BenchPooling.self, BenchTraining.self, BenchDistill.self])
}

/// Options every benchmark shares.
struct BenchOptions: ParsableArguments {
    @Option(help: "Timed repetitions; the median is reported.")
    var repeats = 5

    @Option(help: "Iterations per repetition.")
    var iterations = 5

    @Flag(help: "Print one JSON object as the last line.")
    var json = false

    func validate() throws {
        guard repeats >= 1, iterations >= 1 else { throw ValidationError("--repeats and --iterations must be at least 1") }
    }
}
