/// A file that cannot be used, reported with its name and what was found against what was
/// expected. Readers and writers of every layer throw it, so commands print one kind of
/// message.
public struct FileError: Error, CustomStringConvertible {
    public let file: String
    public let problem: String

    public init(file: String, _ problem: String) {
        self.file = file
        self.problem = problem
    }

    public var description: String { "\(file): \(problem)" }
}
