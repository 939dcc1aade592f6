import Logging
import PortcullisCore

/// Installs the process-wide log handler once, in the configured format and level.
enum LoggingSetup {
    static func bootstrap(_ configuration: GatewayConfiguration) -> Logger {
        let level = configuration.logLevel
        let format = configuration.logFormat
        LoggingSystem.bootstrap { label in
            var handler = LineLogHandler(label: label, format: format)
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: "portcullis")
        logger.logLevel = level
        return logger
    }
}
