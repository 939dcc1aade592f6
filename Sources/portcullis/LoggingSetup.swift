import Logging
import PortcullisCore

/// Installs the process-wide log handler once, in the configured format and level.
enum LoggingSetup {
    static func bootstrap(_ configuration: GatewayConfiguration) -> Logger {
        let level = configuration.logLevel
        switch configuration.logFormat {
        case .json:
            LoggingSystem.bootstrap { label in
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
        case .text:
            LoggingSystem.bootstrap { label in
                var handler = TextLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
        }
        var logger = Logger(label: "portcullis")
        logger.logLevel = level
        return logger
    }
}
