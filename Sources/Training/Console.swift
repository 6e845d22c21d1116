import CStdio

public enum Console {
    /// Line-buffers standard output, so that in a log file or pipe (Slurm's output) printed
    /// lines interleave with progress lines on standard error in the order they happened.
    public static func lineBuffered() { dfkd_line_buffer_stdout() }
}
