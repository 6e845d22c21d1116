import Foundation
import Storage
import TestSupport
import XCTest

final class PNGFileTests: XCTestCase {
    func testGreyAndRGBRoundTrip() throws {
        let directory = TestFiles.scratchDirectory()
        for channels in [1, 3] {
            let pixels = (0..<(5 * 3 * channels)).map { UInt8(($0 * 37 + channels) % 256) }
            let image = Image8(width: 5, height: 3, channels: channels, pixels: pixels)
            let path = directory + "/image\(channels).png"
            try PNGFile.write(image, to: path)
            let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            XCTAssertEqual(Array(bytes.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "PNG signature")
            XCTAssertEqual(try PNGFile.read(path, channels: channels), image)
        }
    }

    func testANonPNGIsAClearError() throws {
        let path = TestFiles.scratchDirectory() + "/not.png"
        TestFiles.write(Array("plain text".utf8), to: path)
        XCTAssertThrowsError(try PNGFile.read(path, channels: 1)) { error in
            XCTAssertTrue("\(error)".contains(path), "\(error)")
        }
    }
}
