import Interchange
import XCTest

/// The restricted unpickler on hand-made pickles: values as Python builds them, and hostile
/// or broken input refused with where and why, without running anything.
final class PickleTests: XCTestCase {
    private let unpickler = RestrictedUnpickler(allowed: ["collections.OrderedDict"])

    func testValuesAsPythonBuildsThem() throws {
        // pickle.dumps({'a': [1, -2, 300, 70000, 2**40], 'b': (True, None, 0.5, 'x')}, protocol=2)
        let bytes: [UInt8] = [0x80, 0x02, 0x7D, 0x71, 0x00, 0x28, 0x58, 0x01, 0x00, 0x00, 0x00, 0x61, 0x71, 0x01, 0x5D, 0x71, 0x02, 0x28,
                              0x4B, 0x01, 0x4A, 0xFE, 0xFF, 0xFF, 0xFF, 0x4D, 0x2C, 0x01, 0x4A, 0x70, 0x11, 0x01, 0x00, 0x8A, 0x06, 0x00, 0x00,
                              0x00, 0x00, 0x00, 0x01, 0x65, 0x58, 0x01, 0x00, 0x00, 0x00, 0x62, 0x71, 0x03, 0x28, 0x88, 0x4E, 0x47, 0x3F, 0xE0,
                              0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x58, 0x01, 0x00, 0x00, 0x00, 0x78, 0x71, 0x04, 0x74, 0x71, 0x05, 0x75, 0x2E]
        let value = try unpickler.load(bytes)
        let entries = try XCTUnwrap(value.dictionary)
        XCTAssertEqual(entries.map { $0.key.string }, ["a", "b"])
        XCTAssertEqual(entries[0].value.items?.compactMap(\.int), [1, -2, 300, 70000, 1 << 40])
        let tuple = try XCTUnwrap(entries[1].value.items)
        guard case .bool(true) = tuple[0], case .none = tuple[1], case .float(let half) = tuple[2] else { return XCTFail("\(tuple)") }
        XCTAssertEqual(half, 0.5)
        XCTAssertEqual(tuple[3].string, "x")
    }

    func testHostileAndBrokenPicklesAreRefused() {
        let cases: [([UInt8], String)] = [
            // cos.system / (S'echo'  tR.  : a call of os.system
            (Array("cos\nsystem\n".utf8) + [0x58, 0x04, 0, 0, 0] + Array("echo".utf8) + [0x85, 0x52, 0x2E], "calls os.system"),
            ([0x80, 0x02, 0x7D, 0x71, 0x00], "ends early at byte 5"),                   // no STOP
            ([0x80, 0x02, 0x2E], "pops an empty stack"),                                // STOP with nothing
            ([0x80, 0x02, 0x58, 0xFF, 0xFF, 0xFF, 0x7F, 0x61], "ends early"),           // text longer than the file
            ([0x80, 0x02, 0x68, 0x07, 0x2E], "refers to memo entry 7, never stored"),
            ([0x80, 0x02, 0x69, 0x2E], "uses pickle opcode 0x69"),                      // INST: not used by torch.save
            ([0x80, 0x02, 0x8A, 0x09] + Array(repeating: 0, count: 9) + [0x2E], "beyond 64 bits"),
        ]
        for (bytes, message) in cases {
            XCTAssertThrowsError(try unpickler.load(bytes)) { error in
                XCTAssertTrue("\(error)".contains(message), "expected '\(message)': \(error)")
            }
        }
    }
}
