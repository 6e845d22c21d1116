import ArgumentParser
import Foundation
import NeuralNetwork
import TensorEngine

struct BenchModelConvolutions: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convs",
        abstract: "Each convolution shape of a model's training step: GFLOP/s of each pass against this machine's GEMM rate.",
        discussion: """
        Runs one training step of the model to collect the convolution shapes it meets, then times \
        each shape's forward, backward-data and backward-weights passes on the kernels the engine \
        chose for it, and OpenBLAS sgemm on square matrices at the same thread count: the rate a \
        convolution lowered to one large matrix product could reach, so the distance of each \
        shape from it is visible. The step's total weighs each shape by its calls in the step \
        (backward-data counted for every call, the first layer's too) and sets it against the \
        time its arithmetic would take at the sgemm rate.
        """)

    @Option(help: "The architecture whose convolutions are measured.")
    var model: Architecture = .lenet5
    @Option(help: "Batch size.") var batch = 256
    @Option(help: "Side of the square matrices of the GEMM reference.") var gemmSize = 1024
    @OptionGroup var options: BenchOptions

    func run() throws {
        let imageShape = model.benchImageShape
        let net = model.make(inputChannels: imageShape[0], classes: 10)
        net.initialize(seed: 0)
        let images = Tensor.uniform([batch] + imageShape, low: -1, high: 1, generator: Philox(seed: 1, name: "bench-images"))
        Loss.crossEntropy(net(images), labels: (0..<batch).map { $0 % 10 }).backward()

        let gemmRate = measureGEMM()
        print(String(format: "%@ batch %d, %d thread(s); sgemm %dx%dx%d: %.1f GFLOP/s", model.rawValue, batch, Runtime.threadCount,
                     gemmSize, gemmSize, gemmSize, gemmRate))
        var rows: [[String: Any]] = []
        var (stepSeconds, stepFlops) = (0.0, 0.0)
        for (shape, calls) in ConvolutionKernels.shapesRun() {
            let raw = RawConvolution(inputShape: shape.input, weightShape: shape.weight, geometry: shape.geometry)
            let passes: [(name: String, run: () -> Void)] = [("forward", raw.forward), ("backward_data", raw.backwardData),
                                                               ("backward_weights", raw.backwardWeights)]
            var row: [String: Any] = ["input": shape.input, "weight": shape.weight, "stride": shape.geometry.stride,
                                      "padding": shape.geometry.padding, "groups": shape.geometry.groups,
                                      "implementations": raw.implementations, "calls_per_step": calls]
            var line = "  \(calls)x \(shape.input) * \(shape.weight) s\(shape.geometry.stride) p\(shape.geometry.padding):"
            for (pass, implementation) in zip(passes, raw.implementations) {
                let seconds = Timing.secondsPerIteration(repeats: options.repeats, iterations: options.iterations, pass.run)
                let rate = shape.flops / seconds / 1e9
                stepSeconds += Double(calls) * seconds
                stepFlops += Double(calls) * shape.flops
                row[pass.name + "_ms"] = seconds * 1e3
                row[pass.name + "_gflops"] = rate
                row[pass.name + "_of_gemm"] = rate / gemmRate
                line += String(format: "  %@ %.2f ms %.1f GFLOP/s (%.0f%%, %@)", pass.name as NSString, seconds * 1e3, rate,
                               100 * rate / gemmRate, implementation as NSString)
            }
            rows.append(row)
            print(line)
        }
        let atGEMMRate = stepFlops / (gemmRate * 1e9)
        print(String(format: "  the step's convolution passes: %.2f GFLOP, %.2f ms on these kernels, %.2f ms at the sgemm rate",
                     stepFlops / 1e9, stepSeconds * 1e3, atGEMMRate * 1e3))
        if options.json {
            printJSON(["model": model.rawValue, "batch": batch, "threads": Runtime.threadCount, "gemm_gflops": gemmRate,
                       "convolutions": rows, "convolution_ms": stepSeconds * 1e3, "convolution_gflop": stepFlops / 1e9,
                       "convolution_ms_at_gemm_rate": atGEMMRate * 1e3])
        }
    }

    private func measureGEMM() -> Double {
        let a = Tensor.uniform([gemmSize, gemmSize], low: -1, high: 1, generator: Philox(seed: 2))
        let b = Tensor.uniform([gemmSize, gemmSize], low: -1, high: 1, generator: Philox(seed: 3))
        let seconds = Timing.secondsPerIteration(repeats: options.repeats, iterations: 1) {
            _ = withoutGradient { Tensor.matmul(a, b) }
        }
        return 2 * pow(Double(gemmSize), 3) / seconds / 1e9
    }
}
