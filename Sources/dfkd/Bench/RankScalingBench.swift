import Distributed
import Foundation

/// `dfkd bench distill --ranks`: the distillation iteration as separate jobs (1 rank x 1
/// thread, 2 ranks x 1 thread, 2 ranks without communication, 1 rank x 2 threads), run in
/// rounds so that a slow minute of a shared machine hits every configuration alike.
struct RankScalingBench {
    let batch: Int, rounds: Int, options: BenchOptions

    private struct Configuration {
        let name: String, ranks: Int, threads: Int, independent: Bool
    }

    private static let configurations = [
        Configuration(name: "1x1", ranks: 1, threads: 1, independent: false),
        Configuration(name: "2x1", ranks: 2, threads: 1, independent: false),
        Configuration(name: "2x1-no-communication", ranks: 2, threads: 1, independent: true),
        Configuration(name: "1x2", ranks: 1, threads: 2, independent: false),
    ]

    func run() throws {
        guard !World.startedByMPI else { throw CommandError("bench distill --ranks starts its own jobs; run it without mpirun or srun") }
        var results: [String: [[String: Any]]] = [:]
        for round in 1...max(1, rounds) {
            for configuration in Self.configurations {
                let result = try measure(configuration)
                results[configuration.name, default: []].append(result)
                print(String(format: "round %d, %@: %.1f images/s", round, configuration.name, result["images_per_second"] as? Double ?? .nan))
            }
        }
        func best(_ name: String) -> [String: Any] {
            results[name]!.max { ($0["images_per_second"] as? Double ?? 0) < ($1["images_per_second"] as? Double ?? 0) }!
        }
        func rate(_ name: String) -> Double { best(name)["images_per_second"] as? Double ?? .nan }
        let speedup = rate("2x1") / rate("1x1"), ceiling = rate("2x1-no-communication") / rate("1x1")
        let communication = (best("2x1")["communication_share"] as? [Double])?.max() ?? .nan
        print(String(format: "1x1 %.1f, 2x1 %.1f, 2x1 without communication %.1f, 1x2 %.1f images/s (best of %d rounds)",
                     rate("1x1"), rate("2x1"), rate("2x1-no-communication"), rate("1x2"), rounds))
        print(String(format: "2 ranks: speedup %.2f against a ceiling of %.2f on this host: scaling efficiency %.2f; "
                     + "communication %.1f%% of the step; 2 threads: speedup %.2f",
                     speedup, ceiling, speedup / ceiling, 100 * communication, rate("1x2") / rate("1x1")))
        if options.json {
            printJSON([
                "batch": batch, "rounds": rounds,
                "configurations": Self.configurations.map { configuration -> [String: Any] in
                    var fields = best(configuration.name)
                    fields["name"] = configuration.name
                    fields["images_per_second_rounds"] = results[configuration.name]!.map { $0["images_per_second"] as? Double ?? .nan }
                    return fields
                },
                "speedup_2_ranks": speedup, "speedup_ceiling": ceiling, "scaling_efficiency": speedup / ceiling,
                "communication_share": communication, "speedup_2_threads": rate("1x2") / rate("1x1"),
            ])
        }
    }

    /// Runs one configuration as its own job and returns its JSON line.
    private func measure(_ configuration: Configuration) throws -> [String: Any] {
        let binary = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var command = [binary, "bench", "distill", "--batch", "\(batch)", "--repeats", "\(options.repeats)",
                       "--iterations", "\(options.iterations)", "--json"]
        if configuration.independent { command.append("--independent") }
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("OMPI_") && !$0.key.hasPrefix("PMIX_") }
        environment["OMP_NUM_THREADS"] = "\(configuration.threads)"
        environment["OPENBLAS_NUM_THREADS"] = "\(configuration.threads)"
        // Threads of one process that spin while waiting would take the other's core.
        environment["OMP_WAIT_POLICY"] = "PASSIVE"
        if configuration.ranks > 1 {
            command = ["mpirun", "-n", "\(configuration.ranks)", "--oversubscribe", "--bind-to", "none",
                       "-x", "OMP_NUM_THREADS", "-x", "OPENBLAS_NUM_THREADS", "-x", "OMP_WAIT_POLICY"]
                + (geteuid() == 0 ? ["--allow-run-as-root"] : []) + command
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0, let line = text.split(separator: "\n").last,
              let fields = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw CommandError("bench distill \(configuration.name) failed (status \(process.terminationStatus)): \(command.joined(separator: " "))\n\(text)")
        }
        return fields
    }
}
