import Glibc

/// libFuzzer's driver (`-sanitize=fuzzer` links it in). SwiftPM points an executable's `main`
/// at the executable's own top-level code, not at libFuzzer's `main`, so each fuzzer's
/// top-level code starts the driver itself, with every libFuzzer option from the command line.
@_silgen_name("LLVMFuzzerRunDriver")
private func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt

/// Runs libFuzzer with `testOneInput` (the executable's `LLVMFuzzerTestOneInput`) and exits
/// with its status.
public func runFuzzer(_ testOneInput: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt) -> Never {
    var argc = CommandLine.argc
    var argv = CommandLine.unsafeArgv
    exit(runFuzzerDriver(&argc, &argv, testOneInput))
}

/// One libFuzzer input as the bytes the fuzz targets take.
public func fuzzInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> [UInt8] {
    Array(UnsafeBufferPointer(start: data, count: size))
}
