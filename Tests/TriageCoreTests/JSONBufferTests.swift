import Foundation
import Testing
import TriageCore

@Suite("JSONBuffer writes what JSONEncoder writes (fixed seeds)")
struct JSONBufferTests {
    private static func encoded<Value: Encodable>(_ value: Value) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // In an array: JSONEncoder writes a lone fragment too, but this keeps to documents.
        return Array(try encoder.encode([value]).dropFirst().dropLast())
    }

    /// Every scalar below 0x100 and a few beyond, in random strings.
    @Test(arguments: Array(UInt64(1)...20))
    func stringsAsJSONEncoderEscapesThem(seed: UInt64) throws {
        var state = seed
        func next() -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(truncatingIfNeeded: state >> 33)
        }
        let scalars = (0..<0x100).map { String(UnicodeScalar(UInt8($0))) } + ["€", "😀", "\u{2028}", "e\u{301}", "中", "\u{10FFFF}"]
        for _ in 0..<200 {
            let text = (0..<(next() % 16)).map { _ in scalars[next() % scalars.count] }.joined()
            var json = JSONBuffer()
            json.string(text, style: .jsonEncoder)
            #expect(json.bytes == (try Self.encoded(text)), "\(Array(text.unicodeScalars))")
        }
    }

    @Test func protobufStyleEscapesC1ControlsAndDeleteInUppercase() {
        var json = JSONBuffer()
        json.string("a\u{7F}\u{80}\u{9F}\u{A0}\u{1F}\"\\/é", style: .protobuf)
        #expect(String(decoding: json.bytes, as: UTF8.self) == "\"a\\u007F\\u0080\\u009F\u{A0}\\u001F\\\"\\\\/é\"")
    }

    @Test(arguments: Array(UInt64(1)...10))
    func doublesAsJSONEncoderWritesThem(seed: UInt64) throws {
        var state = seed
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state
        }
        let edges: [Double] = [
            0, -0.0, 1, -1, 0.1, 3840, 1e15, 1e16, 1e20, -1e-7, 1.5e-7, .leastNonzeroMagnitude, .leastNormalMagnitude,
            .greatestFiniteMagnitude,
            1_764_921_600.123, 123_456_789_012_345_680, 9_007_199_254_740_991, 9_007_199_254_740_992, 9_007_199_254_740_994,
            -9_007_199_254_740_991, 999_999_999_999_999, 1e15 + 0.5, 0.999, -0.5, 4_503_599_627_370_495.5,
        ]
        let randoms = (0..<500).map { _ in Double(bitPattern: next()) }.filter(\.isFinite)
        for value in edges + randoms {
            var json = JSONBuffer()
            json.double(value, style: .jsonEncoder)
            #expect(json.bytes == (try Self.encoded(value)), "\(value)")
            var proto = JSONBuffer()
            proto.double(value, style: .protobuf)
            #expect(String(decoding: proto.bytes, as: UTF8.self) == value.debugDescription)
        }
    }

    @Test func integersAndPaddedDigits() throws {
        for value in [0, 1, -1, 9, 10, -10, 1_234_567, Int.max, Int.min] {
            var json = JSONBuffer()
            json.int(value)
            #expect(json.bytes == (try Self.encoded(value)))
        }
        var json = JSONBuffer()
        json.int(UInt64.max)
        json.raw(" ")
        json.digits(7, width: 3)
        json.raw(" ")
        json.digits(0, width: 2)
        json.raw(" ")
        json.digits(1234, width: 4)
        #expect(String(decoding: json.bytes, as: UTF8.self) == "18446744073709551615 007 00 1234")
    }

    @Test func membersAndLiterals() {
        var json = JSONBuffer()
        json.raw("{")
        json.key("a", first: true)
        json.null()
        json.key("b")
        json.bool(true)
        json.key("c")
        json.bool(false)
        json.raw("}")
        #expect(String(decoding: json.bytes, as: UTF8.self) == #"{"a":null,"b":true,"c":false}"#)
    }
}
