import CStdio
import Distributed

public enum Console {
    /// Line-buffers standard output, so that in a log file or pipe (Slurm's output) printed
    /// lines interleave with progress lines on standard error in the order they happened.
    public static func lineBuffered() { dfkd_line_buffer_stdout() }

    /// Line-buffers standard output on rank 0 and discards it on the other ranks: a job
    /// reports once, not once per rank. Errors (standard error) still come from every rank.
    public static func reportFromRootOnly(_ communicator: Communicator) {
        if communicator.isRoot { lineBuffered() } else { _ = dfkd_discard_stdout() }
    }
}
