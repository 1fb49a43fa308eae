import Foundation

/// Standard input to its end, read on a GCD thread rather than the cooperative pool.
func readStandardInput() async -> Data {
    await withCheckedContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(returning: FileHandle.standardInput.readDataToEndOfFile()) }
    }
}
