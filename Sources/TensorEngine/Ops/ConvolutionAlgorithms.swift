import CDNNL
import Foundation

/// How a convolution pass computes (ConvolutionPlan lists the candidates).
public enum ConvolutionAlgorithm: String, CaseIterable, Sendable {
    /// oneDNN's direct kernels, oneDNN's im2col + GEMM kernels, the engine's own kernels for
    /// few channels and whole-input kernels (EngineConvolution), oneDNN's Winograd kernels (3x3
    /// at stride 1, on AVX-512), the engine's Winograd kernels (3x3 at stride 1 on channel-
    /// blocked activations, on any x86-64 CPU). A pass the forced algorithm has no kernel for
    /// takes its first oneDNN candidate.
    case direct, gemm, engine, winograd
    case engineWinograd = "engine-winograd"
}

/// Which algorithm each pass of a convolution takes: the fastest measured when its shape is
/// first met on this machine (the default, `auto`), or one forced for every shape. Measured
/// choices are kept in ConvolutionChoiceStore, so that every run and rank on a machine takes
/// the same kernels and rounds alike; forcing one (`direct`, `gemm`, `engine`, `winograd`, `engine-winograd`) makes the kernels, and so
/// the rounding, independent of any cache and of which machine measured first.
public enum ConvolutionPolicy: Equatable, Sendable {
    case measured
    case forced(ConvolutionAlgorithm)

    /// `auto` or an algorithm's name; nil for anything else.
    public init?(name: String) {
        if name == "auto" {
            self = .measured
        } else if let algorithm = ConvolutionAlgorithm(rawValue: name) {
            self = .forced(algorithm)
        } else {
            return nil
        }
    }

    /// The name `init(name:)` reads.
    public var name: String {
        switch self {
        case .measured: "auto"
        case .forced(let algorithm): algorithm.rawValue
        }
    }

    var code: Int {
        switch self {
        case .measured: 0
        case .forced(let algorithm): 1 + ConvolutionAlgorithm.allCases.firstIndex(of: algorithm)!
        }
    }
}

public enum ConvolutionAlgorithms {
    /// Whether oneDNN runs its AVX-512 kernels on this CPU, which block channels by 16
    /// (`DNNL_MAX_CPU_ISA=AVX2` keeps it on AVX2 kernels, blocking by 8, on an AVX-512 machine).
    public static var cpuHasAVX512Kernels: Bool {
        dnnl_get_effective_cpu_isa().rawValue & dnnl_cpu_isa_avx512_core.rawValue == dnnl_cpu_isa_avx512_core.rawValue
    }

    /// Whether oneDNN runs Winograd kernels on this CPU: version 2.6 has them for AVX-512 only.
    public static var cpuHasWinograd: Bool { cpuHasAVX512Kernels }

    /// The environment variable that sets the policy: auto (the default), direct, gemm, engine,
    /// winograd or engine-winograd.
    public static let environmentVariable = "DFKD_CONVOLUTION"

    /// The policy for convolution shapes met from now on (shapes already planned keep theirs).
    public static var policy: ConvolutionPolicy {
        get { state.withLock { $0 } }
        set { state.withLock { $0 = newValue } }
    }

    private static let state = Locked(fromEnvironment())

    private static func fromEnvironment() -> ConvolutionPolicy {
        guard let name = ProcessInfo.processInfo.environment[environmentVariable] else { return .measured }
        guard let policy = ConvolutionPolicy(name: name) else {
            let names = ["auto"] + ConvolutionAlgorithm.allCases.map(\.rawValue)
            fatalError("\(environmentVariable)=\(name): expected one of \(names.joined(separator: ", "))")
        }
        return policy
    }
}

/// Times candidate kernels of a convolution pass on scratch buffers, with the cost of the
/// layout conversions each would add to a step, and picks the fastest.
enum ConvolutionTimer {
    /// `forward`, for a backward pass: the chosen forward, whose layouts the saved input and
    /// the arriving output gradient have.
    static func fastest(_ passes: [ConvolutionPass], kind: ConvolutionPassKind, forward: ConvolutionPass?,
                        inputShape: [Int], outputShape: [Int]) -> ConvolutionPass {
        guard passes.count > 1 else { return passes[0] }
        let steps = passes.map { pass -> () -> Void in
            let run = runner(pass, kind: kind)
            var conversions: [() -> Void] = []
            if let forward {
                if pass.outputLayout != forward.outputLayout {
                    conversions.append(converter(outputShape, from: forward.outputLayout, to: pass.outputLayout))
                }
                if kind == .backwardWeights, pass.activationLayout != forward.activationLayout {
                    conversions.append(converter(inputShape, from: forward.activationLayout, to: pass.activationLayout))
                }
            }
            return { conversions.forEach { $0() }; run() }
        }
        let costs = fastestRuns(steps)
        return passes[costs.indices.min { costs[$0] < costs[$1] }!]
    }

    private static let rounds = 5

    /// A pass on scratch buffers of its layouts.
    private static func runner(_ pass: ConvolutionPass, kind: ConvolutionPassKind) -> () -> Void {
        var arguments: [Int32]
        switch kind {
        case .forward: arguments = [DNNLArgument.src, DNNLArgument.weights, DNNLArgument.dst, DNNLArgument.bias]
        case .backwardData: arguments = [DNNLArgument.diffDst, DNNLArgument.weights, DNNLArgument.diffSrc]
        case .backwardWeights: arguments = [DNNLArgument.src, DNNLArgument.diffDst, DNNLArgument.diffWeights, DNNLArgument.diffBias]
        }
        arguments.removeAll { !pass.kernel.takes($0) }
        let buffers = arguments.map { argument -> (Int32, Storage) in
            let storage = Storage(count: pass.kernel.floats(of: argument))
            let values = Philox(seed: 7).uniform(count: storage.count)
            for i in 0..<storage.count { storage.pointer[i] = values[i] - 0.5 }
            return (argument, storage)
        }
        let bound = buffers.map { ($0.0, UnsafeMutableRawPointer($0.1.pointer)) }
        return { withExtendedLifetime(buffers) { pass.kernel.execute(bound) } }
    }

    private static func converter(_ shape: [Int], from source: Layout, to destination: Layout) -> () -> Void {
        let x = Tensor.zeros(shape, layout: source)
        return { _ = LayoutConversion.convert(x, to: destination) }
    }

    /// Each candidate's fastest run: one warm-up each, then rounds that run every candidate
    /// once in turn, so that a load that comes or goes weighs on all of them alike;
    /// interference only ever adds time.
    private static func fastestRuns(_ candidates: [() -> Void]) -> [Double] {
        candidates.forEach { $0() }
        var best = [Double](repeating: .infinity, count: candidates.count)
        for _ in 0..<rounds {
            for (index, run) in candidates.enumerated() {
                let start = DispatchTime.now().uptimeNanoseconds
                run()
                best[index] = min(best[index], Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
            }
        }
        return best
    }
}
