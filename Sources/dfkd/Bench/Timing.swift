import Foundation

/// Wall-clock timing of repeated work; the median of the repetitions resists the spikes of a
/// shared machine.
enum Timing {
    static func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }

    /// Median seconds per iteration of `body` over `repeats` repetitions of `iterations` calls,
    /// after one untimed warm-up call.
    static func secondsPerIteration(repeats: Int, iterations: Int, _ body: () -> Void) -> Double {
        alternating(1, repeats: repeats, iterations: iterations, prepare: { _ in }, body)[0]
    }

    /// Median seconds per iteration of `body` in each of `variants` set up by `prepare`, timed
    /// in alternating rounds so that a machine's changing load reaches each alike.
    static func alternating(_ variants: Int, repeats: Int, iterations: Int, prepare: (Int) -> Void, _ body: () -> Void) -> [Double] {
        var samples = [[Double]](repeating: [], count: variants)
        for variant in 0..<variants {
            prepare(variant)
            body()
        }
        for _ in 0..<repeats {
            for variant in 0..<variants {
                prepare(variant)
                let start = now()
                for _ in 0..<iterations { body() }
                samples[variant].append((now() - start) / Double(iterations))
            }
        }
        return samples.map { $0.sorted()[$0.count / 2] }
    }

    /// Peak resident memory of this process so far, in MiB.
    static func peakResidentMiB() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
    }
}

/// Prints `fields` as one JSON object line (keys sorted, for stable output).
func printJSON(_ fields: [String: Any]) {
    let data = try! JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys, .withoutEscapingSlashes])
    print(String(decoding: data, as: UTF8.self))
}
