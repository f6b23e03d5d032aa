import Glibc

/// Memory and CPU of the hub process(es), read from /proc (Linux only).
struct ProcessSample: Sendable {
    /// Sum of VmRSS over the pids, KiB; nil if any pid could not be read.
    var rssKiB: UInt64?
    /// Sum of Pss (from smaps_rollup) over the pids, KiB; nil if unreadable.
    var pssKiB: UInt64?
}

enum ProcessMemory {
    /// Parses `--hub-pid` ("1234" or "1234,1240").
    static func parsePids(_ text: String?) -> [Int32] {
        guard let text else { return [] }
        return text.split(separator: ",").compactMap { Int32($0.trimmingCharacters(in: " ")) }
    }

    static func sample(_ pids: [Int32]) -> ProcessSample {
        guard !pids.isEmpty else { return ProcessSample(rssKiB: nil, pssKiB: nil) }
        var rss: UInt64? = 0
        var pss: UInt64? = 0
        for pid in pids {
            let status = SystemSupport.readFile("/proc/\(pid)/status")
            if let value = status.flatMap({ kibField("VmRSS:", in: $0) }), let sum = rss { rss = sum + value } else { rss = nil }
            let rollup = SystemSupport.readFile("/proc/\(pid)/smaps_rollup")
            if let value = rollup.flatMap({ kibField("Pss:", in: $0) }), let sum = pss { pss = sum + value } else { pss = nil }
        }
        return ProcessSample(rssKiB: rss, pssKiB: pss)
    }

    /// CPU time (utime + stime) of the pids in microseconds; nil if unreadable.
    static func cpuMicros(_ pids: [Int32]) -> UInt64? {
        guard !pids.isEmpty else { return nil }
        let ticksPerSecond = UInt64(max(sysconf(Int32(_SC_CLK_TCK)), 1))
        var total: UInt64 = 0
        for pid in pids {
            guard let stat = SystemSupport.readFile("/proc/\(pid)/stat"),
                let close = stat.lastIndex(of: ")")
            else { return nil }
            // Fields after "comm)": state is field 3, utime field 14, stime field 15.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 12, let utime = UInt64(fields[11]), let stime = UInt64(fields[12]) else { return nil }
            total += (utime + stime) * 1_000_000 / ticksPerSecond
        }
        return total
    }

    /// CPU time every core of the machine spent busy (user, nice, system, irq, softirq, steal:
    /// the `cpu` line of /proc/stat) in microseconds; with the hub's and the bench's own CPU it
    /// shows how much other processes took during a measurement.
    static func machineBusyMicros() -> UInt64? {
        guard let stat = SystemSupport.readFile("/proc/stat"), let line = stat.split(separator: "\n").first, line.hasPrefix("cpu ") else {
            return nil
        }
        let fields = line.split(separator: " ").dropFirst().compactMap { UInt64($0) }
        guard fields.count >= 8 else { return nil }
        // user nice system idle iowait irq softirq steal
        let busy = fields[0] + fields[1] + fields[2] + fields[5] + fields[6] + fields[7]
        let ticksPerSecond = UInt64(max(sysconf(Int32(_SC_CLK_TCK)), 1))
        return busy * 1_000_000 / ticksPerSecond
    }

    /// Context switches (voluntary + involuntary) of every live thread of the pids, by
    /// "pid/tid"; nil if unreadable. Each one is a thread giving up or losing its core: a request
    /// that hops between threads (event loop → task executor → database queue → …) pays a few.
    static func contextSwitches(_ pids: [Int32]) -> ThreadSwitches? {
        guard !pids.isEmpty else { return nil }
        var counts: [String: UInt64] = [:]
        for pid in pids {
            guard let dir = opendir("/proc/\(pid)/task") else { return nil }
            defer { closedir(dir) }
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                guard name.first?.isNumber == true, let status = SystemSupport.readFile("/proc/\(pid)/task/\(name)/status") else { continue }
                counts["\(pid)/\(name)"] = (plainField("voluntary_ctxt_switches:", in: status) ?? 0) + (plainField("nonvoluntary_ctxt_switches:", in: status) ?? 0)
            }
        }
        return ThreadSwitches(counts: counts)
    }

    private static func plainField(_ name: String, in text: String) -> UInt64? {
        for line in text.split(separator: "\n") where line.hasPrefix(name) {
            return UInt64(String(line.dropFirst(name.count).filter { $0.isNumber }))
        }
        return nil
    }

    private static func kibField(_ name: String, in text: String) -> UInt64? {
        for line in text.split(separator: "\n") where line.hasPrefix(name) {
            let digits = line.dropFirst(name.count).filter { $0.isNumber }
            return UInt64(String(digits))
        }
        return nil
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: Character) -> Substring {
        var s = self
        while s.first == set { s = s.dropFirst() }
        while s.last == set { s = s.dropLast() }
        return s
    }
}

/// Context switches per thread at one moment (see `ProcessMemory.contextSwitches`).
struct ThreadSwitches: Sendable {
    var counts: [String: UInt64]

    /// Switches since `earlier`: threads in both samples count their increase, threads born
    /// since count all of theirs. Threads that ended in between are missing (the kernel keeps
    /// no per-process total of switches), so this is a lower bound.
    func since(_ earlier: ThreadSwitches) -> UInt64 {
        self.counts.reduce(0) { total, entry in
            let before = earlier.counts[entry.key] ?? 0
            return total + (entry.value >= before ? entry.value - before : entry.value)
        }
    }
}
