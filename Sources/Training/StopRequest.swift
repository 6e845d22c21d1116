import Foundation

/// Ctrl-C (SIGINT) and SIGTERM (Slurm's time limit) as a request to stop: training loops
/// check it between steps, save, and exit cleanly. A second signal exits at once.
public enum StopRequest {
    nonisolated(unsafe) private static var requested: sig_atomic_t = 0

    public static var isRequested: Bool { requested != 0 }

    public static func install() {
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber) { number in
                if StopRequest.requested != 0 { _exit(128 + number) }
                StopRequest.requested = 1
            }
        }
    }
}
