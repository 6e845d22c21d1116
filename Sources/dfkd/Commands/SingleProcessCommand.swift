import Distributed
import Foundation

/// Commands that do not divide their work over MPI ranks yet. Started as several ranks they
/// would each run the whole job and write the same files, so they refuse instead.
enum SingleProcessCommand {
    static func require(_ command: String) throws {
        let environment = ProcessInfo.processInfo.environment
        let size = ["OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "SLURM_NTASKS"].lazy.compactMap { environment[$0].flatMap(Int.init) }.first ?? 1
        guard !World.startedByMPI || size <= 1 else {
            throw CommandError("dfkd \(command) runs as one process; it was started as \(size) MPI ranks (run it without mpirun or srun)")
        }
    }
}
