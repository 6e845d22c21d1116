import TensorEngine

/// A dataset file (or dataset option) that cannot be used.
public typealias DataError = FileError
