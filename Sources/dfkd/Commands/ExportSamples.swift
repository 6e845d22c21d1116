import ArgumentParser
import Distillation
import Foundation
import Storage

struct ExportSamples: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-samples",
        abstract: "Write per-class PNG grids of a sample shard set.",
        discussion: """
        DIR/class-KKKK.png shows the first --per-class samples of class K in the set's order \
        (shards in name order, rows in file order), eight to a row, the teacher's input \
        normalisation undone. A sample's class is its conditional label, or for an \
        unconditional generator's the class of its stored teacher logits; a class with no \
        sample gives a blank grid.
        """)

    @Argument(help: "Sample shards: files or quoted glob patterns ('RUN/samples/*.h5').") var shards: [String]
    @Option(help: "Directory of the PNG files (made if absent).") var png: String
    @Option(help: "Samples per class.") var perClass = 64

    func validate() throws {
        try CommandLineValues.check([(Double(perClass), "--per-class", .integers(1...10_000))])
        try CommandLineValues.requireDirectoryOrAbsent(png)
    }

    func run() throws {
        let set = try DamageLocator.naming { try SampleShardSet(paths: try SampleShardSet.expand(shards)) }
        try Directories.create(png)
        for (label, grid) in try DamageLocator.naming({ try SampleExport.classGrids(of: set, perClass: perClass) }).enumerated() {
            try PNGFile.write(grid, to: png + "/" + String(format: "class-%04d.png", label))
        }
        print("\(set.classes) grids of up to \(perClass) samples each from \(set.rows) samples in \(set.shards.count) shard(s): \(png)/")
    }
}
