import Foundation
import Gateway
import Logging

enum LogSetup {
    /// A logger writing to stderr at the configured level (the executable is
    /// the only place that bootstraps logging).
    static func logger(_ configuration: HubConfiguration) -> Logger {
        let level = Logger.Level(rawValue: configuration.log.level) ?? .info
        // `json` or `text`; unset: text on a terminal, JSON otherwise (a log collector).
        let json = configuration.log.format.map { $0 == "json" } ?? (isatty(2) == 0)
        LoggingSystem.bootstrap { label in
            if json {
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: "hub")
        logger.logLevel = level
        return logger
    }
}

enum FileLimits {
    /// Raises the soft open-file limit to the hard limit: every connection is a descriptor.
    static func raiseOpenFileLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
}
