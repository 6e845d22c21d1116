import CHDF5
import Foundation
import TensorEngine

/// An HDF5 file that cannot be read or written.
public typealias StorageError = FileError

/// The HDF5 library's global state: its own error printing is off on every thread that
/// calls it (errors surface as StorageError; the Debian build keeps error stacks per
/// thread), calls are serialised, and it does not close files at exit: a file whose write
/// failed (a full disk) cannot be closed, and closing it again at exit crashes the library.
enum HDF5Library {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var started = false

    static func call<R>(_ body: () throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        if !started {
            H5dont_atexit()
            started = true
        }
        let quiet = "dfkd.hdf5-errors-off"
        if Thread.current.threadDictionary[quiet] == nil {
            H5Eset_auto2(dfkd_h5e_default(), nil, nil)
            Thread.current.threadDictionary[quiet] = true
        }
        return try body()
    }
}

/// An open HDF5 file (or a group in one): datasets of floats, integers and bytes, and
/// attributes of numbers and strings on the file's root or any object.
public final class HDF5Group {
    let id: hid_t
    public let path: String
    /// The file's name, for error messages.
    public let file: String
    private let isFile: Bool
    private var isOpen = true
    /// A file this process created: closing it records its checksum block.
    private let seals: Bool

    fileprivate init(id: hid_t, path: String, file: String, isFile: Bool, seals: Bool = false) {
        self.id = id
        self.path = path
        self.file = file
        self.isFile = isFile
        self.seals = seals
    }

    deinit {
        if isOpen { HDF5Library.call { _ = isFile ? H5Fclose(id) : H5Gclose(id) } }
    }

    /// Closes the file (and every group and dataset open in it), writing what the library
    /// still buffers, and for a file created here records its checksum block; reports a
    /// failure (a full disk shows here) that closing at deinit would lose. A created file
    /// left to deinit has no checksum and reads as damaged.
    public func close() throws {
        precondition(isFile && isOpen, "close() is for an open file")
        isOpen = false
        try HDF5Library.call {
            guard H5Fclose(id) >= 0 else { throw StorageError(file: file, "closing the file failed (the disk may be full)") }
        }
        if seals { try ChecksumBlock.seal(file) }
    }

    /// Creates (truncating) the file at `path`, in the HDF5 1.10 format, with a checksum
    /// block that `close()` fills (ChecksumBlock).
    public static func create(_ path: String) throws -> HDF5Group {
        try HDF5Library.call {
            let (creation, access) = (dfkd_h5p_file_create_sealed(), dfkd_h5p_file_access_new())
            defer { H5Pclose(creation); H5Pclose(access) }
            let id = H5Fcreate(path, dfkd_h5f_acc_trunc(), creation, access)
            guard id >= 0 else { throw StorageError(file: path, "cannot be created as an HDF5 file") }
            return HDF5Group(id: id, path: "/", file: path, isFile: true, seals: true)
        }
    }

    /// Opens the file at `path`, read-only unless `writable`, after checking it against its
    /// checksum block (a file of another writer has none). `checkingBlock: false` skips the
    /// check, to find what is damaged in a file that failed it: the HDF5 library may crash
    /// on damaged metadata, so only a process that can afford to crash does that.
    public static func open(_ path: String, writable: Bool = false, checkingBlock: Bool = true) throws -> HDF5Group {
        guard FileManager.default.fileExists(atPath: path) else { throw StorageError(file: path, "does not exist") }
        try InputFile.requireRegular(path, expected: "an HDF5 file")
        if checkingBlock { try ChecksumBlock.verify(path) }
        return try HDF5Library.call {
            let id = H5Fopen(path, writable ? dfkd_h5f_acc_rdwr() : dfkd_h5f_acc_rdonly(), dfkd_h5p_default())
            guard id >= 0 else { throw StorageError(file: path, "is not a readable HDF5 file (truncated or of another format)") }
            return HDF5Group(id: id, path: "/", file: path, isFile: true)
        }
    }

    /// Writes buffered data to the file.
    public func flush() throws {
        try HDF5Library.call {
            guard H5Fflush(id, H5F_SCOPE_GLOBAL) >= 0 else { throw StorageError(file: file, "flush failed") }
        }
    }

    func child(_ name: String) -> String { path == "/" ? "/" + name : path + "/" + name }

    public func createGroup(_ name: String) throws -> HDF5Group {
        try HDF5Library.call {
            let gid = H5Gcreate2(id, name, dfkd_h5p_default(), dfkd_h5p_default(), dfkd_h5p_default())
            guard gid >= 0 else { throw StorageError(file: file, "cannot create group \(child(name))") }
            return HDF5Group(id: gid, path: child(name), file: file, isFile: false)
        }
    }

    public func group(_ name: String) throws -> HDF5Group {
        try HDF5Library.call {
            guard H5Lexists(id, name, dfkd_h5p_default()) > 0 else { throw StorageError(file: file, "has no group \(child(name))") }
            let gid = H5Gopen2(id, name, dfkd_h5p_default())
            guard gid >= 0 else { throw StorageError(file: file, "\(child(name)) is not a group") }
            return HDF5Group(id: gid, path: child(name), file: file, isFile: false)
        }
    }

    public func contains(_ name: String) -> Bool {
        HDF5Library.call { H5Lexists(id, name, dfkd_h5p_default()) > 0 }
    }

    /// Names of the links in this group, in name order.
    public func memberNames() throws -> [String] {
        try HDF5Library.call { try Self.memberNames(of: id, path: path, file: file) }
    }
}

extension String {
    /// The text of a C character buffer up to its first NUL.
    init(nulTerminated buffer: [CChar]) {
        self = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Element types the files use, with their HDF5 memory types.
public protocol HDF5Element {
    static var memoryType: hid_t { get }
    static var typeName: String { get }
    init()
}

extension Float: HDF5Element {
    public static var memoryType: hid_t { dfkd_h5t_native_float() }
    public static var typeName: String { "float32" }
}

extension Double: HDF5Element {
    public static var memoryType: hid_t { dfkd_h5t_native_double() }
    public static var typeName: String { "float64" }
}

extension Int64: HDF5Element {
    public static var memoryType: hid_t { dfkd_h5t_native_int64() }
    public static var typeName: String { "int64" }
}

extension Int32: HDF5Element {
    public static var memoryType: hid_t { dfkd_h5t_native_int32() }
    public static var typeName: String { "int32" }
}

extension UInt8: HDF5Element {
    public static var memoryType: hid_t { dfkd_h5t_native_uint8() }
    public static var typeName: String { "uint8" }
}

extension HDF5Group {
    /// The group at the slash-separated `path` below this one, made with every missing
    /// group on the way.
    public func makeGroups(_ path: String) throws -> HDF5Group {
        var group = self
        for component in path.split(separator: "/").map(String.init) {
            group = group.contains(component) ? try group.group(component) : try group.createGroup(component)
        }
        return group
    }

    /// The existing group at the slash-separated `path` below this one.
    public func group(atPath path: String) throws -> HDF5Group {
        try path.split(separator: "/").reduce(self) { try $0.group(String($1)) }
    }

    /// The paths (relative to this group) of every dataset below it, groups descended, in
    /// name order.
    public func datasetPaths() throws -> [String] {
        var paths: [String] = []
        for name in try memberNames() {
            let kind = HDF5Library.call { () -> H5O_type_t? in
                var info = H5O_info_t()
                return H5Oget_info_by_name2(id, name, &info, UInt32(H5O_INFO_BASIC), dfkd_h5p_default()) >= 0 ? info.type : nil
            }
            switch kind {
            case H5O_TYPE_GROUP: paths += try group(name).datasetPaths().map { name + "/" + $0 }
            case H5O_TYPE_DATASET: paths.append(name)
            default: throw StorageError(file: file, "\(child(name)) is neither a group nor a dataset")
            }
        }
        return paths
    }
}

extension HDF5Group {
    /// What the checksum block of the file at `path` records (nil for a file of another
    /// writer, which has none); throws when the file does not match it.
    public static func checksumBlock(of path: String) throws -> (crc: UInt32, bytes: Int)? {
        try ChecksumBlock.verify(path)
    }
}
