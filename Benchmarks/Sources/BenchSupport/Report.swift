public import Foundation

/// One measured figure and, when it has one, the baseline measured in the same run.
public struct BenchFigure: Sendable, Codable {
    public var name: String
    public var value: Double
    public var unit: String
    public var baselineName: String?
    public var baselineValue: Double?
    /// figure / baseline for rates (higher is better), as stated in `ratioMeaning`.
    public var ratio: Double?
    public var ratioMeaning: String?
    public var notes: String?

    public init(
        name: String, value: Double, unit: String, baselineName: String? = nil, baselineValue: Double? = nil, ratio: Double? = nil,
        ratioMeaning: String? = nil, notes: String? = nil
    ) {
        self.name = name
        self.value = value
        self.unit = unit
        self.baselineName = baselineName
        self.baselineValue = baselineValue
        self.ratio = ratio ?? baselineValue.flatMap { $0 == 0 ? nil : value / $0 }
        self.ratioMeaning = ratioMeaning ?? (baselineValue == nil ? nil : "figure / baseline")
        self.notes = notes
    }
}

/// A section of docs/benchmarks.md: a table of figures and how they were measured.
public struct BenchSection: Sendable, Codable {
    /// Orders the sections in the report (see bench-report).
    public var id: String
    public var title: String
    public var howMeasured: String
    public var figures: [BenchFigure] = []
    /// Free lines printed under the table (warnings, sizes, versions).
    public var notes: [String] = []

    public init(id: String, title: String, howMeasured: String) {
        self.id = id
        self.title = title
        self.howMeasured = howMeasured
    }
}

/// What one benchmark executable writes with `--report-json PATH` (or into `$BENCH_REPORT_DIR`
/// as `<bench>.json`): its sections, assembled into docs/benchmarks.md by `bench-report`.
public struct BenchReport: Sendable, Codable {
    public var bench: String
    public var arguments: [String]
    public var startedAt: Date
    public var seconds: Double = 0
    /// The 1-minute load average when the benchmark started and when it wrote its figures: on a
    /// shared machine, how much else competed for the CPU.
    public var loadAverageAtStart: Double?
    public var loadAverageAtEnd: Double?
    public var sections: [BenchSection] = []

    public init(bench: String) {
        self.bench = bench
        self.arguments = Array(CommandLine.arguments.dropFirst())
        self.startedAt = Date().addingTimeInterval(-Self.processSeconds())
        self.loadAverageAtStart = Self.loadAverage()
    }

    /// The 1-minute load average, from /proc/loadavg.
    public static func loadAverage() -> Double? {
        (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").first.flatMap { Double($0) }
    }

    /// Seconds since this process started (/proc/self/stat start time against /proc/uptime).
    static func processSeconds() -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
            let uptime = (try? String(contentsOfFile: "/proc/uptime", encoding: .utf8))?.split(separator: " ").first.flatMap({ Double($0) }
            ),
            let afterName = stat.lastIndex(of: ")")
        else { return 0 }
        // Fields after "(comm)": state is field 3; starttime is field 22.
        let fields = stat[stat.index(after: afterName)...].split(separator: " ")
        guard fields.count > 19, let ticks = Double(fields[19]) else { return 0 }
        return max(0, uptime - ticks / Double(sysconf(Int32(_SC_CLK_TCK))))
    }

    public mutating func add(_ section: BenchSection) { sections.append(section) }

    /// Where to write: `--report-json PATH`, else `$BENCH_REPORT_DIR/<bench>.json`, else nowhere.
    public var destination: URL? {
        if let path = option("--report-json") { return URL(fileURLWithPath: path) }
        if let directory = ProcessInfo.processInfo.environment["BENCH_REPORT_DIR"], !directory.isEmpty {
            return URL(fileURLWithPath: directory).appendingPathComponent("\(bench).json")
        }
        return nil
    }

    /// Writes the JSON if a destination was given; prints where.
    public mutating func write() throws {
        seconds = Date().timeIntervalSince(startedAt)
        loadAverageAtEnd = Self.loadAverage()
        guard let url = destination else { return }
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        try encoder.encode(self).write(to: url)
        emit("figures written to \(url.path)")
    }

    public static func read(_ url: URL) throws -> BenchReport {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try decoder.decode(BenchReport.self, from: Data(contentsOf: url))
    }
}
