import Foundation

/// Where a dataset's files are when no directory is given: `$DFKD_DATA_DIR/NAME`, else the
/// folder where Debian's dataset packages install it (`/usr/share/datasets/NAME`), NAME being
/// the dataset's `--dataset` name. One layout for both, so that a user's own collection of
/// datasets sits beside Debian's.
public enum DatasetLocation {
    public static let environmentVariable = "DFKD_DATA_DIR"
    public static let debianRoot = "/usr/share/datasets"

    /// `given` when there is one, else the first folder of the search that exists; nil for the
    /// built-in dataset, which has no files.
    public static func directory(of kind: DatasetKind, given: String?,
                                 environment: [String: String] = ProcessInfo.processInfo.environment,
                                 debianRoot: String = debianRoot) throws -> String? {
        if kind == .builtin { return nil }
        if let given { return given }
        let searched = candidates(of: kind, environment: environment, debianRoot: debianRoot)
        var isDirectory: ObjCBool = false
        if let found = searched.first(where: { FileManager.default.fileExists(atPath: $0, isDirectory: &isDirectory) && isDirectory.boolValue }) {
            return found
        }
        let install = kind.debianPackage.map { "install Debian's package \($0) (apt-get install \($0))" }
            ?? "no Debian package ships \(kind.rawValue): download its files"
        throw DataError(file: "--data-dir", "dataset \(kind.rawValue) was not found in \(searched.joined(separator: " nor in ")); "
                        + "give --data-dir DIR, set \(environmentVariable) to a folder holding \(kind.rawValue)/, or \(install)")
    }

    /// The folders searched, in order, when no directory is given.
    static func candidates(of kind: DatasetKind, environment: [String: String], debianRoot: String) -> [String] {
        let roots = [environment[environmentVariable]].compactMap { $0 }.filter { !$0.isEmpty } + [debianRoot]
        return roots.map { ($0 as NSString).appendingPathComponent(kind.rawValue) }
    }
}

extension DatasetKind {
    /// The Debian package that installs this dataset's files under `/usr/share/datasets`.
    public var debianPackage: String? { self == .fashionMNIST ? "dataset-fashion-mnist" : nil }
}
