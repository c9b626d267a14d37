// SHA-256: FIPS 180-4 test vectors, whole and streamed in pieces that straddle the 64-byte blocks.
@testable import BatchServer
import XCTest

final class SHA256Tests: XCTestCase {
    func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    func testKnownVectors() {
        XCTAssertEqual(hex(SHA256.hash([])), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(hex(SHA256.hash(Array("abc".utf8))), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(hex(SHA256.hash(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    func testStreamedInPiecesEqualsWhole() {
        var million = SHA256Stream()
        [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000).withUnsafeBytes { million.update($0) }
        XCTAssertEqual(million.finishHex(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        let bytes = (0..<5_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let whole = hex(SHA256.hash(bytes))
        for piece in [1, 7, 63, 64, 65, 1000] {
            var stream = SHA256Stream()
            var offset = 0
            while offset < bytes.count {
                let end = min(offset + piece, bytes.count)
                bytes[offset..<end].withUnsafeBytes { stream.update($0) }
                offset = end
            }
            XCTAssertEqual(stream.finishHex(), whole, "pieces of \(piece)")
        }
    }
}
