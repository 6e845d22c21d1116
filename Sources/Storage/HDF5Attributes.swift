import CHDF5

/// Attributes of the group itself (the file's root for a file): strings (variable-length
/// UTF-8, which h5py reads as str), and numbers or arrays of numbers.
extension HDF5Group {
    public func setAttribute(_ name: String, _ value: String) throws {
        try HDF5Library.call {
            let type = Self.variableStringType()
            defer { H5Tclose(type) }
            let space = H5Screate(H5S_SCALAR)
            defer { H5Sclose(space) }
            let attribute = try createAttribute(name, type: type, space: space)
            defer { H5Aclose(attribute) }
            let status = value.withCString { text -> herr_t in
                var pointer: UnsafePointer<CChar>? = text
                return H5Awrite(attribute, type, &pointer)
            }
            guard status >= 0 else { throw StorageError(file: file, "cannot write attribute \(name) of \(path)") }
        }
    }

    public func setAttribute<T: HDF5Element>(_ name: String, _ values: [T]) throws {
        try HDF5Library.call {
            let space = Self.dataspace([values.count])
            defer { H5Sclose(space) }
            let attribute = try createAttribute(name, type: T.memoryType, space: space)
            defer { H5Aclose(attribute) }
            let status = values.withUnsafeBytes { H5Awrite(attribute, T.memoryType, $0.baseAddress) }
            guard status >= 0 else { throw StorageError(file: file, "cannot write attribute \(name) of \(path)") }
        }
    }

    public func setAttribute<T: HDF5Element>(_ name: String, _ value: T) throws {
        try HDF5Library.call {
            let space = H5Screate(H5S_SCALAR)
            defer { H5Sclose(space) }
            let attribute = try createAttribute(name, type: T.memoryType, space: space)
            defer { H5Aclose(attribute) }
            let status = [value].withUnsafeBytes { H5Awrite(attribute, T.memoryType, $0.baseAddress) }
            guard status >= 0 else { throw StorageError(file: file, "cannot write attribute \(name) of \(path)") }
        }
    }

    public var attributeNames: [String] {
        HDF5Library.call {
            var info = H5O_info_t()
            guard H5Oget_info2(id, &info, UInt32(H5O_INFO_NUM_ATTRS)) >= 0 else { return [] }
            return (0..<info.num_attrs).map { index in
                let length = H5Aget_name_by_idx(id, ".", H5_INDEX_NAME, H5_ITER_INC, index, nil, 0, dfkd_h5p_default())
                var buffer = [CChar](repeating: 0, count: length + 1)
                H5Aget_name_by_idx(id, ".", H5_INDEX_NAME, H5_ITER_INC, index, &buffer, buffer.count, dfkd_h5p_default())
                return String(nulTerminated: buffer)
            }
        }
    }

    /// A string attribute (variable- or fixed-length, as h5py may write either).
    public func stringAttribute(_ name: String) throws -> String {
        try HDF5Library.call {
            let attribute = try openAttribute(name)
            defer { H5Aclose(attribute) }
            let type = H5Aget_type(attribute)
            defer { H5Tclose(type) }
            guard H5Tget_class(type) == H5T_STRING else {
                throw StorageError(file: file, "attribute \(name) of \(path) holds \(Self.describe(type)), expected a string")
            }
            let failure = StorageError(file: file, "cannot read attribute \(name) of \(path)")
            return try Self.readStrings(attribute, type: type, count: 1, failure: failure)[0]
        }
    }

    /// A numeric attribute as an array (a scalar gives one element).
    public func numericAttribute<T: HDF5Element>(_ name: String, as: T.Type = T.self) throws -> [T] {
        try HDF5Library.call {
            let attribute = try openAttribute(name)
            defer { H5Aclose(attribute) }
            let type = H5Aget_type(attribute)
            defer { H5Tclose(type) }
            guard H5Tget_class(type) == H5Tget_class(T.memoryType) else {
                throw StorageError(file: file, "attribute \(name) of \(path) holds \(Self.describe(type)), expected \(T.typeName)")
            }
            let space = H5Aget_space(attribute)
            defer { H5Sclose(space) }
            // Attributes are small; a header declaring more is damaged.
            let count = Self.elementCount(of: Self.extent(space))
            guard count <= 1 << 20 else { throw StorageError(file: file, "attribute \(name) of \(path) declares \(count) values, a damaged header") }
            var values = [T](repeating: T(), count: count)
            let status = values.withUnsafeMutableBytes { H5Aread(attribute, T.memoryType, $0.baseAddress) }
            guard status >= 0 else { throw StorageError(file: file, "cannot read attribute \(name) of \(path)") }
            return values
        }
    }

    /// Throws unless the root attribute `format` is `expected` (the file is `what`, "a
    /// DataFreeKD model file") and `format_version`, if `newestVersion` is given, at most it.
    public func requireFormat(_ expected: String, describedAs what: String, newestVersion: Int64? = nil) throws {
        let found = attributeNames.contains("format") ? try stringAttribute("format") : ""
        guard found == expected else {
            throw StorageError(file: file, "is not \(what) (root attribute 'format' is '\(found)', expected '\(expected)')")
        }
        guard let newestVersion else { return }
        let version = try numericAttribute("format_version", as: Int64.self).first ?? 0
        guard version <= newestVersion else {
            throw StorageError(file: file, "format_version \(version) is newer than this dfkd reads (\(newestVersion))")
        }
    }

    /// The type of attribute `name` as `describe` names it: "strings", "int64", "float64", ...
    public func attributeTypeName(_ name: String) throws -> String {
        try HDF5Library.call {
            let attribute = try openAttribute(name)
            defer { H5Aclose(attribute) }
            let type = H5Aget_type(attribute)
            defer { H5Tclose(type) }
            return Self.describe(type)
        }
    }

    static func variableStringType() -> hid_t {
        let type = H5Tcopy(dfkd_h5t_c_s1())
        H5Tset_size(type, Int(bitPattern: UInt(bitPattern: -1)))  // H5T_VARIABLE
        H5Tset_cset(type, H5T_CSET_UTF8)
        return type
    }

    private func createAttribute(_ name: String, type: hid_t, space: hid_t) throws -> hid_t {
        if H5Aexists(id, name) > 0 { H5Adelete(id, name) }
        let attribute = H5Acreate2(id, name, type, space, dfkd_h5p_default(), dfkd_h5p_default())
        guard attribute >= 0 else { throw StorageError(file: file, "cannot create attribute \(name) of \(path)") }
        return attribute
    }

    private func openAttribute(_ name: String) throws -> hid_t {
        guard H5Aexists(id, name) > 0 else { throw StorageError(file: file, "\(path) has no attribute '\(name)'") }
        let attribute = H5Aopen(id, name, dfkd_h5p_default())
        guard attribute >= 0 else { throw StorageError(file: file, "cannot open attribute \(name) of \(path)") }
        return attribute
    }
}

/// Integer attributes of a dataset in the group (a checksum per dataset).
extension HDF5Group {
    public func setDatasetAttribute(_ dataset: String, _ name: String, _ value: Int64) throws {
        try HDF5Library.call {
            let object = H5Oopen(id, dataset, dfkd_h5p_default())
            guard object >= 0 else { throw StorageError(file: file, "cannot open \(child(dataset))") }
            defer { H5Oclose(object) }
            let space = H5Screate(H5S_SCALAR)
            defer { H5Sclose(space) }
            let attribute = H5Acreate2(object, name, Int64.memoryType, space, dfkd_h5p_default(), dfkd_h5p_default())
            guard attribute >= 0 else { throw StorageError(file: file, "cannot create attribute \(name) of \(child(dataset))") }
            defer { H5Aclose(attribute) }
            var stored = value
            guard H5Awrite(attribute, Int64.memoryType, &stored) >= 0 else {
                throw StorageError(file: file, "cannot write attribute \(name) of \(child(dataset))")
            }
        }
    }

    /// The integer attribute `name` of `dataset`, nil when it has none.
    public func datasetIntegerAttribute(_ dataset: String, _ name: String) throws -> Int64? {
        try HDF5Library.call {
            let object = H5Oopen(id, dataset, dfkd_h5p_default())
            guard object >= 0 else { throw StorageError(file: file, "cannot open \(child(dataset))") }
            defer { H5Oclose(object) }
            guard H5Aexists(object, name) > 0 else { return nil }
            let attribute = H5Aopen(object, name, dfkd_h5p_default())
            guard attribute >= 0 else { throw StorageError(file: file, "cannot open attribute \(name) of \(child(dataset))") }
            defer { H5Aclose(attribute) }
            let type = H5Aget_type(attribute)
            defer { H5Tclose(type) }
            guard H5Tget_class(type) == H5T_INTEGER else {
                throw StorageError(file: file, "attribute \(name) of \(child(dataset)) holds \(Self.describe(type)), expected an integer")
            }
            var value: Int64 = 0
            guard H5Aread(attribute, Int64.memoryType, &value) >= 0 else {
                throw StorageError(file: file, "cannot read attribute \(name) of \(child(dataset))")
            }
            return value
        }
    }
}
