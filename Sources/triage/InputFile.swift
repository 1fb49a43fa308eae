import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A file named on the command line (`--file`, `--policy`, `--baseline`, `--roster`,
/// `--baseline-roster`), opened with a message that says what is wrong in words: a directory,
/// a missing file, a file that is not UTF-8 (with its line and byte column). Character devices
/// and pipes (`/dev/stdin`, `/dev/null`, `<(...)`) are read like files.
enum InputFile {
    /// `path` opened for reading; `option` names it in errors.
    static func open(_ path: String, option: String) throws(CommandFailure) -> FileHandle {
        let descriptor = path.withCString { systemOpen($0, O_RDONLY | O_CLOEXEC) }
        guard descriptor >= 0 else {
            let code = errno
            let reason =
                switch code {
                case ENOENT: "no such file"
                case EACCES, EPERM: "permission denied"
                case ENOTDIR: "a part of the path is not a directory"
                default: String(cString: strerror(code))
                }
            throw CommandFailure("cannot read \(option) \(path): \(path): \(reason)")
        }
        var status = stat()
        if fstat(descriptor, &status) == 0, status.st_mode & S_IFMT == S_IFDIR {
            close(descriptor)
            throw CommandFailure("cannot read \(option) \(path): \(path) is a directory; give a file")
        }
        return FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
    }

    /// The whole of `path` ('-': standard input when `standardInput` allows it) as UTF-8 text.
    /// Blocking: for small files (policies, rosters), or on a thread of its own.
    static func text(_ path: String, option: String, standardInput: Bool = false) throws(CommandFailure) -> String {
        let name = standardInput && path == "-" ? "standard input" : path
        let handle = standardInput && path == "-" ? FileHandle.standardInput : try open(path, option: option)
        let data: Data
        do { data = try handle.readToEnd() ?? Data() } catch {
            throw CommandFailure("cannot read \(option) \(name): \(error.localizedDescription)")
        }
        return try utf8Text(data, name: name)
    }

    /// ``text(_:option:standardInput:)`` read on a GCD thread rather than the cooperative pool.
    static func textInBackground(_ path: String, option: String, standardInput: Bool = false) async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try text(path, option: option, standardInput: standardInput) })
            }
        }
    }

    /// `data` as a String; invalid UTF-8 is refused naming the line and byte column of the
    /// first bad byte (instead of being read as U+FFFD).
    static func utf8Text(_ data: Data, name: String) throws(CommandFailure) -> String {
        if let invalid = UTF8Position.firstInvalidByte(in: data) {
            let position = UTF8Position(of: invalid, in: data)
            throw CommandFailure(
                "\(name):\(position.line):\(position.column): \(UTF8Position.problem(data[data.startIndex + invalid]))")
        }
        return String(decoding: data, as: UTF8.self)
    }
}

/// `open(2)`, under a name that does not collide with ``InputFile/open(_:option:)``.
private func systemOpen(_ path: UnsafePointer<CChar>, _ flags: Int32) -> Int32 {
    #if canImport(Glibc)
        Glibc.open(path, flags)
    #else
        Darwin.open(path, flags)
    #endif
}
