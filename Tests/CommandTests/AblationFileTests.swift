import Foundation
import TestSupport
import XCTest

/// configs/ablations/: each file, layered over configs/cpsc.yaml, switches on exactly the loss
/// terms of its row of the CPSC-DFKD paper (the reading in configs/ablations/README.md), at
/// the published weights, and changes nothing else but what its row varies.
final class AblationFileTests: XCTestCase {
    private static let configs = TestFiles.repositoryRoot + "/configs"
    private static let lossTerms = ["kd", "log-l2", "l1", "ce-generator", "ce-student", "bns", "contrast", "one-hot", "entropy", "activation"]

    /// Each row: the terms it switches on, and the other settings it changes.
    private static let rows: [String: (terms: Set<String>, changes: [String: String])] = {
        let discrepancy: Set<String> = ["kd", "log-l2"], crossEntropy: Set<String> = ["ce-generator", "ce-student"]
        let every = discrepancy.union(crossEntropy).union(["contrast", "bns"])
        return [
            "table4-1-baseline": (discrepancy, [:]),
            "table4-2-ce": (discrepancy.union(crossEntropy), [:]),
            "table4-3-contrast": (discrepancy.union(["contrast"]), [:]),
            "table4-4-bns": (discrepancy.union(["bns"]), [:]),
            "table4-5-ce-contrast": (discrepancy.union(crossEntropy).union(["contrast"]), [:]),
            "table4-6-ce-bns": (discrepancy.union(crossEntropy).union(["bns"]), [:]),
            "table4-7-full": (every, [:]),
            "table5-1-batch-norm": (every, ["embeddings": "none"]),
            "table5-2-cfe-three-layers": (every, ["embeddings": "three"]),
            "table5-3-cfe-all-layers": (every, [:]),
            "table6-1-kl": (["kd"], [:]),
            "table6-2-log-l2": (["log-l2"], [:]),
            "table6-3-kl-log-l2": (discrepancy, [:]),
        ]
    }()

    private func settings(_ files: [String]) throws -> [String: String] {
        let shown = try DFKDCommand.run(["show-config"] + files.flatMap { ["--config", $0] })
        XCTAssertEqual(shown.status, 0, shown.output)
        var settings: [String: String] = [:]
        for line in shown.output.split(separator: "\n") where !line.hasPrefix("#") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            settings[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return settings
    }

    func testEachAblationFileSwitchesExactlyTheTermsOfItsPaperRow() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.configs + "/ablations").filter { $0.hasSuffix(".yaml") }
        XCTAssertEqual(Set(files.map { String($0.dropLast(5)) }), Set(Self.rows.keys), "every ablation file is a row of the table below, and every row has a file")
        XCTAssertEqual(files.filter { $0.hasPrefix("table4-") }.count, 7, "the paper's Table 4 has 7 rows")

        let published = try settings([Self.configs + "/cpsc.yaml"])
        for (row, expected) in Self.rows.sorted(by: { $0.key < $1.key }) {
            let ablation = try settings([Self.configs + "/cpsc.yaml", Self.configs + "/ablations/\(row).yaml"])
            let on = Set(Self.lossTerms.filter { Double(ablation[$0] ?? "") != 0 })
            XCTAssertEqual(on, expected.terms, "\(row): the terms switched on")
            for term in on { XCTAssertEqual(ablation[term], published[term], "\(row): \(term) keeps the published weight") }
            for (key, value) in published where !Self.lossTerms.contains(key) {
                XCTAssertEqual(ablation[key], expected.changes[key] ?? value, "\(row): \(key)")
            }
        }
    }
}
