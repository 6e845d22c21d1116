import CDNNL
import Foundation

/// Measured kernel choices of convolution passes, kept on disk per CPU, thread count, oneDNN
/// version and revision of the engine's kernels, so that every run and every rank on a machine
/// (or sharing a home) takes the same kernels: a resumed run then continues bit for bit, and
/// no run pays for the timings a second time. Ranks measure one at a time under a file lock; the first to meet a shape
/// measures it, the others read its choice.
///
/// The file is `convolution-choices.json` in `DFKD_CACHE_DIR`, else `$XDG_CACHE_HOME/dfkd`,
/// else `~/.cache/dfkd`. It is only a cache: an unreadable one is reported, measured again and
/// rewritten; where no directory can be written the choices are measured per process.
public enum ConvolutionChoiceStore {
    public static let fileName = "convolution-choices.json"

    /// The directory of the file; tests point it elsewhere.
    public static var directory: URL? {
        get { state.withLock { $0 } }
        set { state.withLock { $0 = newValue } }
    }

    private static let state = Locked(defaultDirectory())

    private static func defaultDirectory() -> URL? {
        let environment = ProcessInfo.processInfo.environment
        if let path = environment["DFKD_CACHE_DIR"], !path.isEmpty { return URL(fileURLWithPath: path) }
        if let path = environment["XDG_CACHE_HOME"], !path.isEmpty { return URL(fileURLWithPath: path).appendingPathComponent("dfkd") }
        if let path = environment["HOME"], !path.isEmpty { return URL(fileURLWithPath: path).appendingPathComponent(".cache/dfkd") }
        return nil
    }

    /// What the choices depend on besides the shape.
    public static let machine: String = {
        let version = dnnl_version().pointee
        return "isa \(dnnl_get_effective_cpu_isa().rawValue), \(cpuModel()), \(Runtime.threadCount) thread(s), oneDNN \(version.major).\(version.minor).\(version.patch), engine kernels \(EngineKernels.revision)"
    }()

    private static func cpuModel() -> String {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
              let colon = line.firstIndex(of: ":") else { return "unknown CPU" }
        return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }

    /// The file's key of a convolution's choices on this machine among `candidates` (the
    /// kernels' names for each pass): a choice made before a kernel became a candidate is
    /// measured again.
    public static func key(inputShape: [Int], weightShape: [Int], geometry: ConvolutionGeometry, hasBias: Bool,
                           candidates: [[String]]) -> String {
        let shape = "conv2d \(inputShape) * \(weightShape), stride \(geometry.stride), padding \(geometry.padding), groups \(geometry.groups)"
        let among = candidates.map { $0.joined(separator: " ") }.joined(separator: " / ")
        return machine + " | " + shape + (hasBias ? ", bias" : "") + " | among " + among
    }

    /// The stored choice for `key`, if `isValid` accepts it; else `measure()`'s, stored.
    static func choice(for key: String, isValid: ([String]) -> Bool, measure: () -> [String]) -> [String] {
        guard let directory, (try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)) != nil else {
            return measure()
        }
        let lockPath = directory.appendingPathComponent(fileName + ".lock").path
        let lock = open(lockPath, O_RDWR | O_CREAT, 0o644)
        guard lock >= 0 else { return measure() }
        defer { close(lock) }
        flock(lock, LOCK_EX)
        defer { flock(lock, LOCK_UN) }
        let file = directory.appendingPathComponent(fileName)
        var entries = read(file)
        if let stored = entries[key], isValid(stored) { return stored }
        let measured = measure()
        entries[key] = measured
        write(entries, to: file)
        return measured
    }

    private static func read(_ file: URL) -> [String: [String]] {
        guard let data = try? Data(contentsOf: file) else { return [:] }
        guard let entries = (try? JSONSerialization.jsonObject(with: data)) as? [String: [String]] else {
            report("\(file.path): not a JSON object of convolution choices (a list of kernel names per shape); measuring again and rewriting it")
            return [:]
        }
        return entries
    }

    private static func write(_ entries: [String: [String]], to file: URL) {
        do {
            let data = try JSONSerialization.data(withJSONObject: entries, options: [.prettyPrinted, .sortedKeys])
            try data.write(to: file, options: .atomic)
        } catch {
            report("\(file.path): cannot store convolution choices (\(error.localizedDescription)); they are measured per process")
        }
    }

    private static func report(_ message: String) {
        FileHandle.standardError.write(Data(("dfkd: " + message + "\n").utf8))
    }
}
