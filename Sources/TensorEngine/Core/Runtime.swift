import CBLAS
import Foundation

/// Process-wide compute settings: how many threads oneDNN (OpenMP), OpenBLAS and the engine's
/// own kernels use. One thread per process is the default because a rank per core is the
/// intended deployment; OMP_NUM_THREADS raises it, for every library alike.
public enum Runtime {
    /// Threads requested through OMP_NUM_THREADS, or 1.
    public static var threadCount: Int { state.withLock { $0.threads } }

    /// Applies OMP_NUM_THREADS (or `count`) to OpenMP, OpenBLAS and the engine's kernels, while
    /// no BLAS call runs.
    /// Called once on first use of the engine; calling it again changes the count.
    public static func setThreadCount(_ count: Int) {
        precondition(count >= 1, "thread count must be at least 1")
        state.withLock { $0.threads = count }
        openblas_set_num_threads(Int32(count))
        if count == 1 { OpenBLASWorkers.stop() }
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

/// OpenBLAS (the pthreads build) starts one worker per core when it is loaded, before any
/// setting can reach it, and lowering its thread count does not stop them: they keep polling
/// with sched_yield. On a 2-core machine that cost a one-thread LeNet-5 step 10-25% (15.1-18.3
/// against 19.8-20.1 thousand images/s). With one thread OpenBLAS never hands them work, so
/// they are shut down; a later higher count starts them again on the first call that needs them.
enum OpenBLASWorkers {
    private typealias Shutdown = @convention(c) () -> Int32

    static func stop() {
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "blas_thread_shutdown_") else {
            return  // Another BLAS, or OpenBLAS built without its thread server.
        }
        _ = unsafeBitCast(symbol, to: Shutdown.self)()
    }
}
