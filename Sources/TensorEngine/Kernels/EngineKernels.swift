import CEngineKernels

/// The instruction sets of the engine's C kernels (few-channel convolution, pooling), chosen
/// at run time: AVX-512 or AVX2 + FMA where the CPU has them, else generic x86-64.
public enum EngineKernels {
    /// Lets the C kernels run their AVX2 and AVX-512 versions where the CPU has them (the
    /// default), or keeps them on their generic versions, which tests check on any CPU.
    public static func allowVectorExtensions(_ allowed: Bool) { dfkd_engine_kernels_allow_avx2(allowed ? 1 : 0) }

    /// Whether the C kernels run AVX2 + FMA code now.
    public static var usesAVX2: Bool { dfkd_engine_kernels_use_avx2() != 0 }

    /// Whether those with AVX-512 versions (pooling, channel and element-wise) run them now.
    public static var usesAVX512: Bool { dfkd_engine_kernels_use_avx512() != 0 }
}
