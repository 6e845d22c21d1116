import Distributed
import Foundation

/// SIGINT (Ctrl-C), SIGTERM and SIGUSR1 (what Slurm sends before a time limit or a
/// preemption, with `--signal`) as a request to stop: training loops check it between
/// iterations, write a checkpoint and exit with `resumableStatus`. A second SIGINT exits at
/// once (status 130), leaving the previous checkpoint as it was.
public enum StopRequest {
    /// The exit status of a run stopped on request with a checkpoint to resume from
    /// (EX_TEMPFAIL: distinct from success, 0, and from failure, 1).
    public static let resumableStatus: Int32 = 75

    nonisolated(unsafe) private static var requested: sig_atomic_t = 0

    public static var isRequested: Bool { requested != 0 }

    /// Whether a stop was asked of any rank (or `condition` holds on any): every rank gets the
    /// same answer, so all stop after the same step, where one rank alone would leave the
    /// others waiting in the next collective.
    public static func isRequested(on communicator: Communicator, or condition: Bool = false) -> Bool {
        let local = isRequested || condition
        guard communicator.size > 1 else { return local }
        var flag: [Double] = [local ? 1 : 0]
        flag.withUnsafeMutableBufferPointer { communicator.allReduceMax($0) }
        return flag[0] > 0
    }

    /// Whether any rank was asked to stop, and whether `budgetSpent` holds on any, in one
    /// collective: every rank gets the same two answers.
    public static func agreed(on communicator: Communicator, budgetSpent: Bool) -> (stop: Bool, budgetSpent: Bool) {
        var flags: [Double] = [isRequested ? 1 : 0, budgetSpent ? 1 : 0]
        if communicator.size > 1 { flags.withUnsafeMutableBufferPointer { communicator.allReduceMax($0) } }
        return (flags[0] > 0, flags[1] > 0)
    }

    /// When the first SIGINT came (CLOCK_MONOTONIC seconds), 0 before it.
    nonisolated(unsafe) private static var firstInterrupt: Double = 0

    /// A second SIGINT at least a second after the first exits at once: a user who presses
    /// Ctrl-C again does not want to wait. Closer together, two are one Ctrl-C that reached
    /// the rank twice (from the terminal and forwarded by mpirun). Repeated SIGTERM and
    /// SIGUSR1 (Slurm signals every process of a step, and mpirun forwards) change nothing.
    public static func install() {
        for signalNumber in [SIGINT, SIGTERM, SIGUSR1] {
            signal(signalNumber) { number in
                if number == SIGINT {
                    var now = timespec()
                    clock_gettime(CLOCK_MONOTONIC, &now)
                    let seconds = Double(now.tv_sec) + Double(now.tv_nsec) * 1e-9
                    if StopRequest.firstInterrupt > 0 && seconds - StopRequest.firstInterrupt >= 1 { _exit(128 + number) }
                    if StopRequest.firstInterrupt == 0 { StopRequest.firstInterrupt = seconds }
                }
                StopRequest.requested = 1
            }
        }
    }
}
