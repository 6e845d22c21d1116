import CHDF5
import TensorEngine

extension HDF5Group {
    /// Writes `values` as a new contiguous dataset of `shape` ([] for a scalar).
    public func write<T: HDF5Element>(_ name: String, _ values: [T], shape: [Int]) throws {
        precondition(values.count == shape.reduce(1, *), "\(values.count) values for shape \(shape)")
        try HDF5Library.call {
            let space = Self.dataspace(shape)
            defer { H5Sclose(space) }
            let dataset = H5Dcreate2(id, name, T.memoryType, space, dfkd_h5p_default(), dfkd_h5p_default(), dfkd_h5p_default())
            guard dataset >= 0 else { throw StorageError(file: file, "cannot create dataset \(path)/\(name)") }
            defer { H5Dclose(dataset) }
            let status = values.withUnsafeBytes { H5Dwrite(dataset, T.memoryType, dfkd_h5s_all(), dfkd_h5s_all(), dfkd_h5p_default(), $0.baseAddress) }
            guard status >= 0 else { throw StorageError(file: file, "cannot write dataset \(path)/\(name)") }
        }
    }

    /// Writes `values` as a new dataset of `shape` that can grow along its first axis
    /// (`appendRows`), in chunks of `chunkRows` rows, shuffled, deflated and checksummed
    /// (Fletcher-32) per chunk.
    public func writeAppendable<T: HDF5Element>(_ name: String, _ values: [T], shape: [Int], chunkRows: Int) throws {
        precondition(!shape.isEmpty && values.count == shape.reduce(1, *), "\(values.count) values for shape \(shape)")
        try HDF5Library.call {
            let dims = shape.map { hsize_t($0) }
            var maximum = dims
            maximum[0] = dfkd_h5s_unlimited()
            let space = H5Screate_simple(Int32(dims.count), dims, maximum)
            defer { H5Sclose(space) }
            var chunk = dims.map { max(1, $0) }
            chunk[0] = hsize_t(max(1, chunkRows))
            let creation = dfkd_h5p_chunked(Int32(chunk.count), chunk)
            defer { H5Pclose(creation) }
            let dataset = H5Dcreate2(id, name, T.memoryType, space, dfkd_h5p_default(), creation, dfkd_h5p_default())
            guard dataset >= 0 else { throw StorageError(file: file, "cannot create dataset \(path)/\(name)") }
            defer { H5Dclose(dataset) }
            let status = values.withUnsafeBytes { H5Dwrite(dataset, T.memoryType, dfkd_h5s_all(), dfkd_h5s_all(), dfkd_h5p_default(), $0.baseAddress) }
            guard status >= 0 else { throw StorageError(file: file, "cannot write dataset \(path)/\(name)") }
        }
    }

    /// Appends `values`, whole rows, to the extendable dataset `name` (`writeAppendable`).
    public func appendRows<T: HDF5Element>(_ name: String, _ values: [T]) throws {
        try withDataset(name) { dataset in
            let space = H5Dget_space(dataset)
            let shape = Self.extent(space)
            H5Sclose(space)
            let rowSize = Self.elementCount(of: Array(shape.dropFirst()))
            precondition(!shape.isEmpty && rowSize > 0 && values.count % rowSize == 0, "\(values.count) values are not whole rows of \(shape)")
            var grown = shape.map { hsize_t($0) }, start = [hsize_t](repeating: 0, count: shape.count), count = grown
            (start[0], count[0]) = (grown[0], hsize_t(values.count / rowSize))
            grown[0] += count[0]
            guard H5Dset_extent(dataset, grown) >= 0 else { throw StorageError(file: file, "cannot extend dataset \(child(name))") }
            let fileSpace = H5Dget_space(dataset), memorySpace = H5Screate_simple(Int32(count.count), count, nil)
            defer { H5Sclose(fileSpace); H5Sclose(memorySpace) }
            H5Sselect_hyperslab(fileSpace, H5S_SELECT_SET, start, nil, count, nil)
            let status = values.withUnsafeBytes { H5Dwrite(dataset, T.memoryType, memorySpace, fileSpace, dfkd_h5p_default(), $0.baseAddress) }
            guard status >= 0 else { throw StorageError(file: file, "cannot append to dataset \(child(name))") }
        }
    }

    /// Reads a whole dataset as `T` (HDF5 converts between sizes of one class: float64 to
    /// float32, int32 to int64); a dataset of another class is an error naming both.
    public func read<T: HDF5Element>(_ name: String, as: T.Type = T.self) throws -> (shape: [Int], values: [T]) {
        try HDF5Library.call {
            guard H5Lexists(id, name, dfkd_h5p_default()) > 0 else {
                throw StorageError(file: file, "has no dataset \(path == "/" ? "" : path)/\(name)")
            }
            let dataset = H5Dopen2(id, name, dfkd_h5p_default())
            guard dataset >= 0 else { throw StorageError(file: file, "\(path)/\(name) is not a dataset") }
            defer { H5Dclose(dataset) }
            let fileType = H5Dget_type(dataset)
            defer { H5Tclose(fileType) }
            guard H5Tget_class(fileType) == H5Tget_class(T.memoryType) else {
                throw StorageError(file: file, "dataset \(path)/\(name) holds \(Self.describe(fileType)), expected \(T.typeName)")
            }
            let space = H5Dget_space(dataset)
            defer { H5Sclose(space) }
            let shape = Self.extent(space)
            let count = Self.elementCount(of: shape)
            if let shortfall = Self.storageShortfall(dataset) {
                throw StorageError(file: file, "dataset \(child(name)) \(shortfall): a damaged or forged header; nothing was read")
            }
            var values = [T](repeating: T(), count: count)
            let status = values.withUnsafeMutableBytes {
                H5Dread(dataset, T.memoryType, dfkd_h5s_all(), dfkd_h5s_all(), dfkd_h5p_default(), $0.baseAddress)
            }
            guard status >= 0 else { throw StorageError(file: file, "cannot read dataset \(child(name)) (a damaged chunk or a truncated file)") }
            return (shape, values)
        }
    }

    /// Reads `rows` of the dataset `name` (rows along its first axis), without allocating
    /// for the rest: a reader of a large dataset goes through it a block at a time.
    public func readRows<T: HDF5Element>(_ name: String, _ rows: Range<Int>, as: T.Type = T.self) throws -> [T] {
        try withDataset(name) { dataset in
            let fileSpace = H5Dget_space(dataset)
            defer { H5Sclose(fileSpace) }
            let shape = Self.extent(fileSpace)
            guard let first = shape.first, rows.lowerBound >= 0, rows.upperBound <= first else {
                throw StorageError(file: file, "dataset \(child(name)) has shape \(shape); rows \(rows) are outside it")
            }
            var (start, count) = ([hsize_t](repeating: 0, count: shape.count), shape.map { hsize_t($0) })
            (start[0], count[0]) = (hsize_t(rows.lowerBound), hsize_t(rows.count))
            var values = [T](repeating: T(), count: rows.count * Self.elementCount(of: Array(shape.dropFirst())))
            guard !values.isEmpty else { return [] }
            H5Sselect_hyperslab(fileSpace, H5S_SELECT_SET, start, nil, count, nil)
            let memorySpace = H5Screate_simple(Int32(count.count), count, nil)
            defer { H5Sclose(memorySpace) }
            let status = values.withUnsafeMutableBytes { H5Dread(dataset, T.memoryType, memorySpace, fileSpace, dfkd_h5p_default(), $0.baseAddress) }
            guard status >= 0 else { throw StorageError(file: file, "cannot read rows \(rows) of dataset \(child(name)) (a damaged chunk or a truncated file)") }
            return values
        }
    }

    /// Throws unless the file stores every value dataset `name` declares (`storageShortfall`).
    public func requireStored(_ name: String) throws {
        try withDataset(name) { dataset in
            if let shortfall = Self.storageShortfall(dataset) { throw StorageError(file: file, "dataset \(child(name)) \(shortfall): a damaged or forged header") }
        }
    }

    /// What a dataset declares beyond what the file stores, nil when nothing: chunks that were
    /// never written (DataFreeKD writes every chunk; a header's extent forged or damaged
    /// declares rows that would read as fill values), bytes past a contiguous or compact
    /// dataset's storage (one created without values stores none). Checked from the header
    /// and the chunk index, before anything is allocated.
    static func storageShortfall(_ dataset: hid_t) -> String? {
        let (space, creation, type) = (H5Dget_space(dataset), H5Dget_create_plist(dataset), H5Dget_type(dataset))
        defer { H5Sclose(space); H5Pclose(creation); H5Tclose(type) }
        // A null dataspace (h5py's Empty) holds no value at all.
        guard H5Sget_simple_extent_type(space) != H5S_NULL else { return nil }
        let shape = extent(space)
        guard let count = CheckedArithmetic.product(shape) else { return "declares shape \(shape), more values than any file holds" }
        guard count > 0 else { return nil }
        switch H5Pget_layout(creation) {
        case H5D_CHUNKED:
            var chunk = [hsize_t](repeating: 1, count: shape.count)
            guard H5Pget_chunk(creation, Int32(chunk.count), &chunk) == Int32(shape.count), chunk.allSatisfy({ $0 > 0 }) else {
                return "has a chunk shape that does not match its shape \(shape)"
            }
            let needed = CheckedArithmetic.product(zip(shape, chunk).map { ($0 + Int($1) - 1) / Int($1) })
            var stored: hsize_t = 0
            guard H5Dget_num_chunks(dataset, space, &stored) >= 0 else { return "has a chunk index that cannot be read" }
            guard let needed, Int(clamping: stored) >= needed else {
                return "declares shape \(shape) in " + (needed.map { "\($0)" } ?? "more") + " chunks of \(chunk.map { Int($0) }); the file stores \(stored)"
            }
            return nil
        case H5D_CONTIGUOUS, H5D_COMPACT:
            let declared = CheckedArithmetic.product([count, H5Tget_size(type)])
            let storedBytes = Int(clamping: H5Dget_storage_size(dataset))
            guard let declared, declared <= storedBytes else {
                return "declares shape \(shape), " + (declared.map { "\($0) bytes" } ?? "more bytes than any file holds") + "; the file stores \(storedBytes)"
            }
            return nil
        default:
            return "is a virtual dataset, whose declared size this reader cannot check against the file"
        }
    }

    /// The shape dataset `name` declares ([] for a scalar), read from its header alone: a
    /// reader checks it before allocating what a damaged or hostile header claims.
    public func datasetShape(_ name: String) throws -> [Int] {
        try withDataset(name) { dataset in
            let space = H5Dget_space(dataset)
            defer { H5Sclose(space) }
            return Self.extent(space)
        }
    }

    /// `body` with dataset `name` open.
    private func withDataset<Result>(_ name: String, _ body: (hid_t) throws -> Result) throws -> Result {
        try HDF5Library.call {
            let dataset = H5Dopen2(id, name, dfkd_h5p_default())
            guard dataset >= 0 else { throw StorageError(file: file, "\(child(name)) is not a dataset") }
            defer { H5Dclose(dataset) }
            return try body(dataset)
        }
    }

    /// The number of elements of `shape`, Int.max when the product would overflow (a damaged
    /// header's dimensions).
    public static func elementCount(of shape: [Int]) -> Int {
        CheckedArithmetic.product(shape) ?? Int.max
    }

    /// The type of dataset `name` as `describe` names it: "float32", "int64", ...
    public func datasetTypeName(_ name: String) throws -> String {
        try withDataset(name) { dataset in
            let type = H5Dget_type(dataset)
            defer { H5Tclose(type) }
            return Self.describe(type)
        }
    }

    static func dataspace(_ shape: [Int]) -> hid_t {
        if shape.isEmpty { return H5Screate(H5S_SCALAR) }
        let dims = shape.map { hsize_t($0) }
        return H5Screate_simple(Int32(dims.count), dims, nil)
    }

    static func extent(_ space: hid_t) -> [Int] {
        let rank = Int(H5Sget_simple_extent_ndims(space))
        var dims = [hsize_t](repeating: 0, count: rank)
        H5Sget_simple_extent_dims(space, &dims, nil)
        return dims.map { Int(clamping: $0) }
    }

    static func describe(_ type: hid_t) -> String {
        let size = H5Tget_size(type) * 8
        switch H5Tget_class(type) {
        case H5T_FLOAT: return "float\(size)"
        case H5T_INTEGER: return (H5Tget_sign(type) == H5T_SGN_NONE ? "uint" : "int") + "\(size)"
        case H5T_STRING: return "strings"
        case H5T_COMPOUND: return "a compound type"
        case H5T_ENUM: return "an enumeration"
        case H5T_ARRAY: return "an array type"
        case H5T_VLEN: return "variable-length sequences"
        case H5T_OPAQUE: return "opaque bytes"
        case H5T_BITFIELD: return "a bit field"
        case H5T_REFERENCE: return "references"
        default: return "a non-numeric type"
        }
    }
}
