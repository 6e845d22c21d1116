import CBLAS
import Foundation

/// Process-wide compute settings: how many threads oneDNN (OpenMP), OpenBLAS and the engine's
/// own kernels use. One thread per process is the default because a rank per core is the
/// intended deployment; OMP_NUM_THREADS raises it, for every library alike.
public enum Runtime {
    /// Threads requested through OMP_NUM_THREADS, or 1.
    public static var threadCount: Int { state.withLock { $0.threads } }

    /// Applies OMP_NUM_THREADS (or `count`) to OpenMP, OpenBLAS and the engine's kernels.
    /// Called once on first use of the engine; calling it again changes the count.
    public static func setThreadCount(_ count: Int) {
        precondition(count >= 1, "thread count must be at least 1")
        state.withLock { $0.threads = count }
        openblas_set_num_threads(Int32(count))
        OpenMP.setThreadCount(count)
    }

    static func configureFromEnvironment() {
        _ = configured
    }

    private static let configured: Bool = {
        let requested = ProcessInfo.processInfo.environment["OMP_NUM_THREADS"].flatMap { Int($0) } ?? 1
        setThreadCount(max(1, requested))
        return true
    }()

    private struct State: Sendable { var threads = 1 }
    private static let state = Locked(State())
}

/// OpenMP is loaded by oneDNN; its entry points are looked up at run time so that the
/// package does not link a particular OpenMP runtime itself.
enum OpenMP {
    private typealias SetThreads = @convention(c) (Int32) -> Void

    static func setThreadCount(_ count: Int) {
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "omp_set_num_threads") else {
            return  // oneDNN built without OpenMP: it sizes its own pool from the environment.
        }
        unsafeBitCast(symbol, to: SetThreads.self)(Int32(count))
    }
}
