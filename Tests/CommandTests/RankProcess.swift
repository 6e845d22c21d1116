import Foundation

/// Finds a rank of a running job, to kill it as the system would.
enum RankProcess {
    /// The dfkd process whose command line holds `argument` and that is rank `rank`, as
    /// mpirun (OMPI_COMM_WORLD_RANK) or srun (SLURM_PROCID) started it.
    static func find(withArgument argument: String, rank: Int) -> Int32? {
        let pids = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap(Int32.init)
        return pids.first { pid in
            guard let command = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"),
                  let environment = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return false }
            let words = command.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            let variables = Set(environment.split(separator: 0).map { String(decoding: $0, as: UTF8.self) })
            return words.first?.hasSuffix("/dfkd") == true && words.contains(argument)
                && (variables.contains("OMPI_COMM_WORLD_RANK=\(rank)") || variables.contains("SLURM_PROCID=\(rank)"))
        }
    }
}
