import FuzzDriver
import TriageFuzzTargets

// One libFuzzer input: any bytes, no crash allowed.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    _ = FuzzTargets.incidentEvent(fuzzInput(data, size))
    return 0
}

runFuzzer(fuzz)
