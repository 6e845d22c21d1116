import Foundation
import TensorEngine
import XCTest

/// Measured convolution choices go to the cache file and come back from it: a stored choice is
/// obeyed without timing, and a damaged file or entry is measured again and rewritten.
final class ConvolutionChoiceStoreTests: XCTestCase {
    private let input = [32, 1, 32, 32], weight = [6, 1, 5, 5], geometry = ConvolutionGeometry(padding: 2)
    private var directory: URL!
    private var savedDirectory: URL?

    override func setUpWithError() throws {
        savedDirectory = ConvolutionChoiceStore.directory
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("dfkd-choices-\(UUID().uuidString)")
        ConvolutionChoiceStore.directory = directory
    }

    override func tearDownWithError() throws {
        ConvolutionChoiceStore.directory = savedDirectory
        try? FileManager.default.removeItem(at: directory)
    }

    private var file: URL { directory.appendingPathComponent(ConvolutionChoiceStore.fileName) }
    private var key: String { Self.key(input, weight, geometry, hasBias: false) }

    private static func key(_ input: [Int], _ weight: [Int], _ geometry: ConvolutionGeometry, hasBias: Bool) -> String {
        let candidates = ConvolutionKernels.candidateNames(inputShape: input, weightShape: weight, geometry: geometry, hasBias: hasBias)
        return ConvolutionChoiceStore.key(inputShape: input, weightShape: weight, geometry: geometry, hasBias: hasBias, candidates: candidates)
    }

    private func stored() throws -> [String: [String]] {
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: file))
        return try XCTUnwrap(object as? [String: [String]], "\(file.path) is not a map of names")
    }

    private func store(_ entries: [String: [String]]) throws {
        try JSONSerialization.data(withJSONObject: entries).write(to: file)
    }

    private func measuredKernels() -> [String] {
        ConvolutionKernels.implementations(inputShape: input, weightShape: weight, geometry: geometry, policy: .measured)
    }

    /// 16 channels in and out: the direct kernels are native on every x86 ISA for every pass,
    /// so both `direct` and `gemm` are candidates of each.
    private let wide = (input: [8, 16, 12, 12], weight: [16, 16, 3, 3], geometry: ConvolutionGeometry(padding: 1))

    func testAMeasuredChoiceIsStoredUnderTheMachineAndShape() throws {
        _ = measuredKernels()
        let entries = try stored()
        XCTAssertEqual(Array(entries.keys), [key])
        let names = try XCTUnwrap(entries[key])
        XCTAssertEqual(names.count, 3, "one choice per pass: \(names)")
        let candidates = ConvolutionKernels.candidateNames(inputShape: input, weightShape: weight, geometry: geometry, hasBias: false)
        XCTAssertTrue(zip(candidates, names).allSatisfy { $0.contains($1) }, "\(names) among \(candidates)")
        XCTAssertTrue(key.hasSuffix(candidates.map { $0.joined(separator: " ") }.joined(separator: " / ")), key)
        XCTAssertTrue(key.hasPrefix(ConvolutionChoiceStore.machine), key)
    }

    func testAStoredChoiceIsObeyed() throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // Opposite choices in turn: a store that were ignored (measured instead) would give
        // the same kernels both times and fail one of the two.
        let key = Self.key(wide.input, wide.weight, wide.geometry, hasBias: false)
        let kernels = { ConvolutionKernels.implementations(inputShape: self.wide.input, weightShape: self.wide.weight, geometry: self.wide.geometry, policy: .measured) }
        try store([key: ["gemm", "gemm", "gemm"]])
        let gemm = kernels()
        XCTAssertTrue(gemm.allSatisfy { $0.contains("gemm") }, "\(gemm)")
        try store([key: ["direct", "gemm", "direct"]])
        let mixed = kernels()
        XCTAssertEqual(mixed.map { $0.contains("gemm") }, [false, true, false], "\(mixed)")
        XCTAssertEqual(try stored(), [key: ["direct", "gemm", "direct"]], "a valid entry is not rewritten")
    }

    /// A choice measured against an earlier revision of the engine's kernels (slower, or
    /// faster, than today's) is measured again, not obeyed; its entry is left as it was.
    func testAChoiceOfAnEarlierKernelRevisionIsMeasuredAgain() throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let key = Self.key(wide.input, wide.weight, wide.geometry, hasBias: false)
        let revision = "engine kernels \(EngineKernels.revision)"
        XCTAssertTrue(key.contains(revision), key)
        let earlier = key.replacingOccurrences(of: revision, with: "engine kernels \(EngineKernels.revision - 1)")
        try store([earlier: ["gemm", "gemm", "gemm"]])
        _ = ConvolutionKernels.implementations(inputShape: wide.input, weightShape: wide.weight, geometry: wide.geometry, policy: .measured)
        let entries = try stored()
        XCTAssertEqual(entries[earlier], ["gemm", "gemm", "gemm"])
        XCTAssertEqual(entries[key]?.count, 3, "measured and stored under this revision: \(entries)")
    }

    func testAnUnreadableFileIsMeasuredAgainAndRewritten() throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try Data("{\"truncated".utf8).write(to: file)
        XCTAssertEqual(measuredKernels().count, 3)
        XCTAssertEqual(try stored()[key]?.count, 3)
    }

    func testAnEntryNamingNoCandidateIsMeasuredAgain() throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let other = Self.key([1, 3, 8, 8], [4, 3, 3, 3], geometry, hasBias: true)
        try store([key: ["retired-kernel", "gemm", "gemm"], other: ["gemm", "gemm", "gemm"]])
        _ = measuredKernels()
        let entries = try stored()
        XCTAssertEqual(entries[other], ["gemm", "gemm", "gemm"], "other shapes' entries are kept")
        let names = try XCTUnwrap(entries[key])
        XCTAssertFalse(names.contains("retired-kernel"), "\(names)")
        XCTAssertEqual(names.count, 3)
    }

    /// Choices measured among fewer kernels (before a kernel became a candidate) are under
    /// another key: the shape is measured again among all of today's.
    func testChoicesMeasuredAmongOtherCandidatesAreNotReused() throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let older = ConvolutionChoiceStore.key(inputShape: wide.input, weightShape: wide.weight, geometry: wide.geometry, hasBias: false,
                                               candidates: [["direct"], ["direct"], ["direct"]])
        try store([older: ["direct", "direct", "direct"]])
        let candidates = ConvolutionKernels.candidateNames(inputShape: wide.input, weightShape: wide.weight, geometry: wide.geometry, hasBias: false)
        let avx512 = ConvolutionAlgorithms.cpuHasAVX512Kernels
        let today = ["direct"] + (avx512 ? ["direct-8"] : []) + ["gemm"] + (ConvolutionAlgorithms.cpuHasWinograd ? ["winograd"] : [])
            + ["engine-winograd"]
        XCTAssertEqual(candidates, Array(repeating: today, count: 3))
        _ = ConvolutionKernels.implementations(inputShape: wide.input, weightShape: wide.weight, geometry: wide.geometry, policy: .measured)
        let entries = try stored()
        XCTAssertEqual(entries[older], ["direct", "direct", "direct"], "the older entry is left as it was")
        XCTAssertEqual(entries.count, 2, "today's candidates measured under their own key: \(entries.keys)")
    }
}
