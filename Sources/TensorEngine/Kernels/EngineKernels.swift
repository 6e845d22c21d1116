import CEngineKernels

/// The instruction sets of the engine's C kernels (convolution, pooling, element-wise), chosen
/// at run time: AVX-512 or AVX2 + FMA where the CPU has them, else generic x86-64.
public enum EngineKernels {
    /// Raised whenever one of the engine's kernels changes speed: convolution choices measured
    /// against an earlier revision are measured again (ConvolutionChoiceStore.machine).
    public static let revision = 4

    /// Lets the C kernels run their AVX2 and AVX-512 versions where the CPU has them (the
    /// default), or keeps them on their generic versions, which tests check on any CPU.
    public static func allowVectorExtensions(_ allowed: Bool) { dfkd_engine_kernels_allow_avx2(allowed ? 1 : 0) }

    /// Lets the C kernels with AVX-512 versions run them where the CPU has them (the default),
    /// or keeps them on AVX2, which tests check on AVX-512 machines too.
    public static func allowAVX512(_ allowed: Bool) { dfkd_engine_kernels_allow_avx512(allowed ? 1 : 0) }

    /// Whether the C kernels run AVX2 + FMA code now.
    public static var usesAVX2: Bool { dfkd_engine_kernels_use_avx2() != 0 }

    /// Whether those with AVX-512 versions (pooling, channel, element-wise, few-channel, Winograd) run them now.
    public static var usesAVX512: Bool { dfkd_engine_kernels_use_avx512() != 0 }
}
