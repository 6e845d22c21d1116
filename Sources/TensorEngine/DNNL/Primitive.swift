import CDNNL

/// A created oneDNN primitive with its descriptor, its memory objects (one per argument,
/// re-pointed at each execution, so executing allocates nothing) and its scratchpad size.
final class Primitive: @unchecked Sendable {
    let descriptor: dnnl_primitive_desc_t
    private let primitive: dnnl_primitive_t
    private var memories: [Int32: dnnl_memory_t] = [:]
    private var argumentBuffer: [dnnl_exec_arg_t] = []
    let scratchpadBytes: Int

    /// Creates the primitive for an op descriptor (`opDescriptor` points at a
    /// dnnl_*_desc_t), optionally hinted by the forward primitive of a backward op.
    convenience init(opDescriptor: UnsafeRawPointer, hint: Primitive? = nil, attributes: dnnl_primitive_attr_t? = nil, what: String) {
        let (status, pd) = Self.describe(opDescriptor, hint: hint, attributes: attributes)
        DNNL.check(status, "creating \(what)")
        self.init(descriptor: pd!, what: what)
    }

    /// The primitive for an op descriptor if this CPU has an implementation of it (oneDNN's
    /// Winograd kernels exist for some instruction sets only), nil if it has none.
    static func ifImplemented(opDescriptor: UnsafeRawPointer, hint: Primitive? = nil, what: String) -> Primitive? {
        let (status, pd) = describe(opDescriptor, hint: hint, attributes: nil)
        if status == dnnl_unimplemented { return nil }
        DNNL.check(status, "creating \(what)")
        return Primitive(descriptor: pd!, what: what)
    }

    private static func describe(_ opDescriptor: UnsafeRawPointer, hint: Primitive?,
                                 attributes: dnnl_primitive_attr_t?) -> (dnnl_status_t, dnnl_primitive_desc_t?) {
        let attr = attributes ?? Primitive.userScratchpadAttributes()
        var pd: dnnl_primitive_desc_t?
        let status = dnnl_primitive_desc_create(&pd, opDescriptor, attr, DNNL.shared.engine, hint?.descriptor)
        if attributes == nil { dnnl_primitive_attr_destroy(attr) }
        return (status, pd)
    }

    init(descriptor: dnnl_primitive_desc_t, what: String) {
        self.descriptor = descriptor
        var primitive: dnnl_primitive_t?
        DNNL.check(dnnl_primitive_create(&primitive, descriptor), "creating \(what)")
        self.primitive = primitive!
        if let md = dnnl_primitive_desc_query_md(descriptor, dnnl_query_scratchpad_md, 0) {
            scratchpadBytes = MemoryDescriptor.bytes(md.pointee)
        } else {
            scratchpadBytes = 0
        }
        PrimitiveCache.shared.noteCreated()
    }

    static func userScratchpadAttributes() -> dnnl_primitive_attr_t {
        var attr: dnnl_primitive_attr_t?
        DNNL.check(dnnl_primitive_attr_create(&attr), "creating primitive attributes")
        DNNL.check(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user), "setting the scratchpad mode")
        return attr!
    }

    /// oneDNN's name for the implementation it chose, e.g. "jit:avx512_core" or "ref:any".
    var implementation: String {
        var name: UnsafePointer<CChar>?
        guard dnnl_primitive_desc_query(descriptor, dnnl_query_impl_info_str, 0, &name) == dnnl_success, let name else { return "" }
        return String(cString: name)
    }

    /// The memory descriptor of execution argument `argument` (e.g. DNNL_ARG_SRC).
    func descriptor(of argument: Int32) -> dnnl_memory_desc_t {
        guard let md = dnnl_primitive_desc_query_md(descriptor, dnnl_query_exec_arg_md, argument) else {
            fatalError("oneDNN primitive has no argument \(argument)")
        }
        return md.pointee
    }

    /// Whether the primitive reads or writes `argument` (a kernel without a bias has an empty one).
    func takes(_ argument: Int32) -> Bool {
        guard let md = dnnl_primitive_desc_query_md(descriptor, dnnl_query_exec_arg_md, argument) else { return false }
        return MemoryDescriptor.bytes(md.pointee) > 0
    }

    /// Runs the primitive on raw buffers laid out as its descriptors say.
    func execute(_ arguments: [(Int32, UnsafeMutableRawPointer)]) {
        argumentBuffer.removeAll(keepingCapacity: true)
        for (argument, pointer) in arguments {
            let memory = memoryObject(for: argument)
            DNNL.check(dnnl_memory_set_data_handle(memory, pointer), "binding argument \(argument)")
            argumentBuffer.append(dnnl_exec_arg_t(arg: Int32(argument), memory: memory))
        }
        if scratchpadBytes > 0 {
            let memory = memoryObject(for: DNNLArgument.scratchpad)
            DNNL.check(dnnl_memory_set_data_handle(memory, Scratchpad.shared.pointer(bytes: scratchpadBytes)), "binding the scratchpad")
            argumentBuffer.append(dnnl_exec_arg_t(arg: DNNLArgument.scratchpad, memory: memory))
        }
        let stream = DNNL.shared.stream
        argumentBuffer.withUnsafeBufferPointer { args in
            DNNL.check(dnnl_primitive_execute(primitive, stream, Int32(args.count), args.baseAddress), "executing a primitive")
        }
        DNNL.check(dnnl_stream_wait(stream), "waiting for a primitive")
    }

    private func memoryObject(for argument: Int32) -> dnnl_memory_t {
        if let memory = memories[argument] { return memory }
        var md = descriptor(of: argument)
        var memory: dnnl_memory_t?
        DNNL.check(dnnl_memory_create(&memory, &md, DNNL.shared.engine, dfkd_dnnl_memory_none()), "creating a memory object")
        memories[argument] = memory!
        return memory!
    }
}

enum DNNLArgument {
    static let src = dfkd_dnnl_arg_src()
    static let dst = dfkd_dnnl_arg_dst()
    static let from = dfkd_dnnl_arg_from()
    static let to = dfkd_dnnl_arg_to()
    static let weights = dfkd_dnnl_arg_weights()
    static let bias = dfkd_dnnl_arg_bias()
    static let workspace = dfkd_dnnl_arg_workspace()
    static let scratchpad = dfkd_dnnl_arg_scratchpad()
    static let diffSrc = dfkd_dnnl_arg_diff_src()
    static let diffDst = dfkd_dnnl_arg_diff_dst()
    static let diffWeights = dfkd_dnnl_arg_diff_weights()
    static let diffBias = dfkd_dnnl_arg_diff_bias()
}

/// One scratchpad shared by all primitives: they run one at a time, so it only has to be as
/// large as the largest need.
final class Scratchpad: @unchecked Sendable {
    static let shared = Scratchpad()
    private var storage: Storage?

    func pointer(bytes: Int) -> UnsafeMutableRawPointer {
        let floats = (bytes + 3) / 4
        if let storage, storage.count >= floats { return UnsafeMutableRawPointer(storage.pointer) }
        storage = nil
        let fresh = Storage(count: floats)
        storage = fresh
        return UnsafeMutableRawPointer(fresh.pointer)
    }
}

/// What identifies a primitive: the op and every number that shaped its descriptor.
struct PrimitiveKey: Hashable {
    let op: String
    let numbers: [Int]
}

/// Primitives (and the plans that group several of them) by key. A steady-state training
/// step finds everything here; `createdCount` lets tests prove that it created nothing.
public final class PrimitiveCache: @unchecked Sendable {
    public static let shared = PrimitiveCache()
    private let entries = Locked([PrimitiveKey: AnyObject]())
    private let created = Locked(0)

    /// Primitives created since the process started.
    public var createdCount: Int { created.withLock { $0 } }

    func noteCreated() { created.withLock { $0 += 1 } }

    /// Every cached object of type T (the plans an op created), in no particular order.
    func entries<T: AnyObject>(of type: T.Type) -> [T] {
        entries.withLock { $0.values.compactMap { $0 as? T } }
    }

    func entry<T: AnyObject>(_ key: PrimitiveKey, make: () -> T) -> T {
        if let found = entries.withLock({ $0[key] }) { return found as! T }
        let made = make()
        entries.withLock { $0[key] = made }
        return made
    }
}
