import Distributed
import Foundation

/// Ctrl-C (SIGINT) and SIGTERM (Slurm's time limit) as a request to stop: training loops
/// check it between steps, save, and exit cleanly. A second signal exits at once.
public enum StopRequest {
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

    public static func install() {
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber) { number in
                if StopRequest.requested != 0 { _exit(128 + number) }
                StopRequest.requested = 1
            }
        }
    }
}
