/// Where a byte is in a text: 1-based line, and 1-based column counted in bytes.
struct UTF8Position {
    let line: Int
    let column: Int

    init(of offset: Int, in bytes: some Collection<UInt8>) {
        var line = 1
        var lineStart = 0
        for (index, byte) in bytes.prefix(offset).enumerated() where byte == UInt8(ascii: "\n") {
            line += 1
            lineStart = index + 1
        }
        self.line = line
        self.column = offset - lineStart + 1
    }

    /// The offset of the first byte of `bytes` that is not part of valid UTF-8, or `nil`.
    static func firstInvalidByte(in bytes: some Collection<UInt8>) -> Int? {
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded): offset += encoded.count
            case .error: return offset
            case .emptyInput: return nil
            }
        }
    }

    /// Why a byte stops the text being UTF-8, and what to do.
    static func problem(_ byte: UInt8) -> String {
        "not UTF-8 text (byte 0x\(String(byte, radix: 16, uppercase: true))): save the file as UTF-8"
    }
}
