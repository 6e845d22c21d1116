import CHDF5

/// An attribute's value as `dfkd inspect` shows it, for attributes of any writer.
public enum HDF5Value: Equatable, Sendable {
    case texts([String])
    case integers([Int64])
    case numbers([Double])
    /// A type `inspect` does not render: its description.
    case unrendered(String)
}

/// How a dataset is stored: what `inspect` lists for it.
public struct HDF5DatasetLayout: Equatable, Sendable {
    public let shape: [Int]
    /// nil for an axis that can grow without limit.
    public let maximumShape: [Int?]
    public let type: String
    /// The chunk's shape, nil for contiguous (or compact) storage.
    public let chunk: [Int]?
    /// The filter pipeline in order: "shuffle", "deflate(4)", "fletcher32", ...
    public let filters: [String]
    /// Bytes the data takes in the file (after compression).
    public let storedBytes: Int
}

/// One object of an HDF5 file: a group, a dataset or another kind, with its attributes.
public struct HDF5Object: Sendable {
    public enum Kind: Sendable {
        case group
        case dataset(HDF5DatasetLayout)
        case other(String)
    }

    /// The absolute path: "/", "/state/conv1.weight".
    public let path: String
    public let kind: Kind
    public let attributes: [(name: String, value: HDF5Value)]
}

extension HDF5Group {
    /// Every object from this group down, itself first, depth first in name order.
    public func objects() throws -> [HDF5Object] {
        try HDF5Library.call { try Self.walk(id, path: path, file: file) }
    }

    /// Reads every dataset below this group whole, through its filters, and returns each
    /// one that cannot be read (a chunk failing its Fletcher-32 checksum or not inflating) or
    /// whose values miss the CRC-32 in its `crc32` attribute, with what is wrong.
    public func damagedDatasets() throws -> [(path: String, problem: String)] {
        try HDF5Library.call {
            try Self.walk(id, path: path, file: file).compactMap { object in
                guard case .dataset(let layout) = object.kind else { return nil }
                let recorded = object.attributes.first { $0.name == "crc32" }.flatMap { attribute -> UInt32? in
                    guard case .integers(let values) = attribute.value, values.count == 1 else { return nil }
                    return UInt32(truncatingIfNeeded: values[0])
                }
                return Self.problem(reading: object.path, in: id, layout: layout, recordedCRC: recorded).map { (object.path, $0) }
            }
        }
    }

    private static func walk(_ location: hid_t, path: String, file: String) throws -> [HDF5Object] {
        let object = H5Oopen(location, path, dfkd_h5p_default())
        guard object >= 0 else { throw StorageError(file: file, "cannot open \(path)") }
        defer { H5Oclose(object) }
        var info = H5O_info_t()
        guard H5Oget_info2(object, &info, UInt32(H5O_INFO_BASIC | H5O_INFO_NUM_ATTRS)) >= 0 else {
            throw StorageError(file: file, "cannot read the header of \(path)")
        }
        let attributes = try (0..<info.num_attrs).map { try attribute(of: object, index: $0, path: path, file: file) }
        switch info.type {
        case H5O_TYPE_GROUP:
            var members: [HDF5Object] = []
            for name in try memberNames(of: object, path: path, file: file) {
                members += try walk(location, path: (path == "/" ? "" : path) + "/" + name, file: file)
            }
            return [HDF5Object(path: path, kind: .group, attributes: attributes)] + members
        case H5O_TYPE_DATASET:
            return [HDF5Object(path: path, kind: .dataset(try layout(of: object, path: path, file: file)), attributes: attributes)]
        case H5O_TYPE_NAMED_DATATYPE:
            return [HDF5Object(path: path, kind: .other("a named datatype"), attributes: attributes)]
        default:
            return [HDF5Object(path: path, kind: .other("an object of unknown type"), attributes: attributes)]
        }
    }

    static func memberNames(of group: hid_t, path: String, file: String) throws -> [String] {
        var info = H5G_info_t()
        guard H5Gget_info(group, &info) >= 0 else { throw StorageError(file: file, "cannot list \(path)") }
        return (0..<info.nlinks).map { index in
            let length = H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, index, nil, 0, dfkd_h5p_default())
            var buffer = [CChar](repeating: 0, count: max(0, Int(length)) + 1)
            H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, index, &buffer, buffer.count, dfkd_h5p_default())
            return String(nulTerminated: buffer)
        }
    }

    private static func layout(of dataset: hid_t, path: String, file: String) throws -> HDF5DatasetLayout {
        let (space, type, creation) = (H5Dget_space(dataset), H5Dget_type(dataset), H5Dget_create_plist(dataset))
        defer { H5Sclose(space); H5Tclose(type); H5Pclose(creation) }
        guard space >= 0, type >= 0, creation >= 0 else { throw StorageError(file: file, "cannot read the layout of dataset \(path)") }
        let rank = max(0, Int(H5Sget_simple_extent_ndims(space)))
        var dims = [hsize_t](repeating: 0, count: rank), maximum = dims
        H5Sget_simple_extent_dims(space, &dims, &maximum)
        var chunk: [Int]?
        if H5Pget_layout(creation) == H5D_CHUNKED {
            var chunkDims = [hsize_t](repeating: 0, count: max(rank, 1))
            let chunkRank = H5Pget_chunk(creation, Int32(chunkDims.count), &chunkDims)
            chunk = chunkDims.prefix(max(0, Int(chunkRank))).map { Int(clamping: $0) }
        }
        let filters = (0..<max(0, H5Pget_nfilters(creation))).map { index -> String in
            var flags: UInt32 = 0, valueCount = 4, configuration: UInt32 = 0
            var values = [UInt32](repeating: 0, count: 4), name = [CChar](repeating: 0, count: 64)
            let filter = H5Pget_filter2(creation, UInt32(index), &flags, &valueCount, &values, name.count, &name, &configuration)
            switch filter {
            case H5Z_FILTER_DEFLATE: return "deflate(\(valueCount > 0 ? values[0] : 0))"
            case H5Z_FILTER_SHUFFLE: return "shuffle"
            case H5Z_FILTER_FLETCHER32: return "fletcher32"
            case H5Z_FILTER_SZIP: return "szip"
            case H5Z_FILTER_NBIT: return "nbit"
            case H5Z_FILTER_SCALEOFFSET: return "scaleoffset"
            default:
                let text = String(nulTerminated: name)
                return "filter \(filter)" + (text.isEmpty ? "" : " (\(text))")
            }
        }
        return HDF5DatasetLayout(
            shape: dims.map { Int(clamping: $0) }, maximumShape: maximum.map { $0 == dfkd_h5s_unlimited() ? nil : Int(clamping: $0) },
            type: describe(type), chunk: chunk, filters: filters, storedBytes: Int(clamping: H5Dget_storage_size(dataset)))
    }

    private static func attribute(of object: hid_t, index: hsize_t, path: String, file: String) throws -> (name: String, value: HDF5Value) {
        let attribute = H5Aopen_by_idx(object, ".", H5_INDEX_NAME, H5_ITER_INC, index, dfkd_h5p_default(), dfkd_h5p_default())
        guard attribute >= 0 else { throw StorageError(file: file, "cannot open attribute \(index) of \(path)") }
        defer { H5Aclose(attribute) }
        let length = H5Aget_name(attribute, 0, nil)
        var buffer = [CChar](repeating: 0, count: max(0, length) + 1)
        H5Aget_name(attribute, buffer.count, &buffer)
        let name = String(nulTerminated: buffer)
        let type = H5Aget_type(attribute)
        defer { H5Tclose(type) }
        let space = H5Aget_space(attribute)
        defer { H5Sclose(space) }
        let count = elementCount(of: extent(space))
        guard count <= 1 << 20 else { throw StorageError(file: file, "attribute \(name) of \(path) declares \(count) values, a damaged header") }
        let unreadable = StorageError(file: file, "cannot read attribute \(name) of \(path)")
        switch H5Tget_class(type) {
        case H5T_STRING: return (name, .texts(try readStrings(attribute, type: type, count: count, failure: unreadable)))
        case H5T_INTEGER:
            var values = [Int64](repeating: 0, count: count)
            guard H5Aread(attribute, Int64.memoryType, &values) >= 0 else { throw unreadable }
            return (name, .integers(values))
        case H5T_FLOAT:
            var values = [Double](repeating: 0, count: count)
            guard H5Aread(attribute, Double.memoryType, &values) >= 0 else { throw unreadable }
            return (name, .numbers(values))
        default: return (name, .unrendered(describe(type)))
        }
    }

    /// The strings of a string attribute, variable- or fixed-length (h5py writes either).
    static func readStrings(_ attribute: hid_t, type: hid_t, count: Int, failure: StorageError) throws -> [String] {
        if H5Tis_variable_str(type) > 0 {
            let memory = variableStringType()
            defer { H5Tclose(memory) }
            var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
            guard H5Aread(attribute, memory, &pointers) >= 0 else { throw failure }
            defer { for pointer in pointers { H5free_memory(pointer) } }
            return pointers.map { $0.map { String(cString: $0) } ?? "" }
        }
        let size = H5Tget_size(type)
        guard size > 0, size <= 1 << 24, size * count <= 1 << 24 else {
            throw StorageError(file: failure.file, "\(failure.problem): it declares \(count) strings of \(size) bytes, a damaged header")
        }
        var buffer = [CChar](repeating: 0, count: size * count + 1)
        guard H5Aread(attribute, type, &buffer) >= 0 else { throw failure }
        return (0..<count).map { String(nulTerminated: Array(buffer[($0 * size)..<(($0 + 1) * size)])) }
    }

    /// What is wrong reading dataset `path` whole, in blocks of rows, nil if nothing.
    private static func problem(reading path: String, in location: hid_t, layout: HDF5DatasetLayout, recordedCRC: UInt32?) -> String? {
        let dataset = H5Dopen2(location, path, dfkd_h5p_default())
        guard dataset >= 0 else { return "cannot be opened" }
        defer { H5Dclose(dataset) }
        let fileType = H5Dget_type(dataset)
        defer { H5Tclose(fileType) }
        let memoryType = H5Tget_native_type(fileType, H5T_DIR_ASCEND)
        defer { H5Tclose(memoryType) }
        // Rows declared outside the stored chunks would read as fill values, and a forged
        // extent would take as long to read as it claims.
        if let shortfall = storageShortfall(dataset) { return shortfall }
        let isVariable = H5Tis_variable_str(fileType) > 0 || H5Tget_class(fileType) == H5T_VLEN
        let elementSize = H5Tget_size(memoryType)
        let shape = layout.shape
        let rows = shape.first ?? 1, rowElements = elementCount(of: Array(shape.dropFirst()))
        // A chunked dataset is read a chunk's rows at a time, so a damaged chunk is named.
        let rowsPerBlock = layout.chunk?.first.map { max(1, $0) } ?? max(1, (64 << 20) / max(1, rowElements * elementSize))
        var unreadable: [Range<Int>] = []
        let fileSpace = H5Dget_space(dataset)
        defer { H5Sclose(fileSpace) }
        var crc: UInt32 = 0
        for start in stride(from: 0, to: rows, by: rowsPerBlock) where elementCount(of: shape) > 0 {
            let count = min(rowsPerBlock, rows - start)
            var offset = [hsize_t](repeating: 0, count: shape.count), extent = shape.map { hsize_t($0) }
            if !shape.isEmpty {
                (offset[0], extent[0]) = (hsize_t(start), hsize_t(count))
                H5Sselect_hyperslab(fileSpace, H5S_SELECT_SET, offset, nil, extent, nil)
            }
            let memorySpace = shape.isEmpty ? H5Screate(H5S_SCALAR) : H5Screate_simple(Int32(extent.count), extent, nil)
            defer { H5Sclose(memorySpace) }
            var bytes = [UInt8](repeating: 0, count: count * rowElements * elementSize)
            guard H5Dread(dataset, memoryType, memorySpace, fileSpace, dfkd_h5p_default(), &bytes) >= 0 else {
                unreadable.append(start..<(start + count))
                continue
            }
            if isVariable { H5Dvlen_reclaim(memoryType, memorySpace, dfkd_h5p_default(), &bytes) }
            crc = Checksum.crc32(bytes, continuing: crc)
        }
        if !unreadable.isEmpty {
            let shown = unreadable.prefix(3).map { "\($0.lowerBound)..<\($0.upperBound)" }.joined(separator: ", ")
            let what = layout.chunk == nil ? "rows \(shown) cannot be read (truncated file?)"
                : "the chunk(s) of rows \(shown) fail their checksum or do not decompress (\(layout.filters.joined(separator: ", ")))"
            return what + (unreadable.count > 3 ? " and \(unreadable.count - 3) more" : "")
        }
        if let recordedCRC, !isVariable, crc != recordedCRC {
            return "its values' CRC-32 is \(Checksum.hex(crc)), its crc32 attribute records \(Checksum.hex(recordedCRC))"
        }
        return nil
    }
}
