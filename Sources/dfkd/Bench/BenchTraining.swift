import ArgumentParser
import Foundation
import NeuralNetwork
import TensorEngine

extension Architecture {
    /// One input image of the benchmark: digits for LeNet, CIFAR-sized colour for the rest.
    var benchImageShape: [Int] { rawValue.hasPrefix("lenet5") ? [1, 32, 32] : [3, 32, 32] }
}

struct BenchTraining: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Images per second of a full training step: forward, cross entropy, backward, SGD step.")

    @Option(help: "The architecture to train.")
    var model: Architecture = .wrn16x1
    @Option(help: "Batch size.") var batch = 128
    @Flag(help: "Time the step with each convolution policy (each algorithm forced, then auto) in alternating rounds, against direct.")
    var comparePolicies = false
    @OptionGroup var options: BenchOptions

    func run() throws {
        let imageShape = model.benchImageShape
        let net = model.make(inputChannels: imageShape[0], classes: 10)
        net.initialize(seed: 0)
        let images = Tensor.uniform([batch] + imageShape, low: -1, high: 1, generator: Philox(seed: 1, name: "bench-images"))
        let labels = (0..<batch).map { $0 % 10 }
        let optimizer = SGD(module: net, learningRate: 0.01, momentum: 0.9, weightDecay: 5e-4)
        let step = {
            optimizer.zeroGradients()
            Loss.crossEntropy(net(images), labels: labels).backward()
            optimizer.step()
        }
        let policies: [ConvolutionPolicy] = comparePolicies
            ? ConvolutionAlgorithm.allCases.map { .forced($0) } + [.measured] : [ConvolutionAlgorithms.policy]
        let seconds = Timing.alternating(policies.count, repeats: options.repeats, iterations: options.iterations, prepare: {
            ConvolutionAlgorithms.policy = policies[$0]
        }, step)
        let pool = BufferPool.shared.statistics
        var result: [String: Any] = [
            "model": model.rawValue,
            "batch": batch,
            "images_per_second": Double(batch) / seconds[0],
            "step_ms": seconds[0] * 1000,
            "convolution": policies[0].name,
            "peak_rss_mib": Timing.peakResidentMiB(),
            "peak_tensor_mib": Double(pool.peakBytesInUse) / 1_048_576,
            "threads": Runtime.threadCount,
        ]
        print(String(format: "train %@ batch %d, %d thread(s), convolutions %@: %.1f images/s (%.1f ms per step), peak RSS %.0f MiB, peak tensors %.0f MiB",
                     model.rawValue, batch, Runtime.threadCount, policies[0].name, Double(batch) / seconds[0], seconds[0] * 1000,
                     Timing.peakResidentMiB(), Double(pool.peakBytesInUse) / 1_048_576))
        for (policy, time) in zip(policies, seconds).dropFirst() {
            print(String(format: "  convolutions %@: %.1f images/s (%.1f ms per step), %.2fx direct", policy.name, Double(batch) / time, time * 1000, seconds[0] / time))
            result["images_per_second_\(policy.name)"] = Double(batch) / time
            result["speedup_\(policy.name)"] = seconds[0] / time
        }
        if options.json { printJSON(result) }
    }
}
