// A stand-in for a second replica in multi-process messaging tests. Not part of the product.
//
//   bus-worker consume <database-url|sqlite-path> <group> <pattern> <worker-id>
//       subscribes, records every handled event in probe_handled(event_id, worker), runs until SIGTERM
//   bus-worker hang <database-url|sqlite-path> <group> <pattern> <visibility-ms>
//       subscribes, prints "handling <event-id>" for the first event and never finishes it
//   bus-worker enqueue <database-url|sqlite-path> <queue> <message-id>
//       enqueues one work-queue message and exits
import Foundation
import Logging
import Messaging
import PortcullisCore
import ServiceLifecycle
import Storage
import UnixSignals

@main
struct BusWorker {
    static func main() async throws {
        let arguments = CommandLine.arguments
        guard arguments.count >= 4 else {
            FileHandle.standardError.write(Data("usage: bus-worker consume|hang|enqueue <database> ...\n".utf8))
            exit(64)
        }
        var logger = Logger(label: "bus-worker")
        logger.logLevel = .warning
        let location: DatabaseLocation =
            arguments[2].hasPrefix("postgres") ? .postgres(try PostgresEndpoint.parse(arguments[2])) : .sqlite(path: arguments[2])
        let database = try await DatabaseFactory.open(location, maximumConnections: 4, leaseTimeout: .seconds(60), logger: logger)
        let messaging = Messaging(database: database, pollInterval: .seconds(60), logger: logger)

        switch arguments[1] {
        case "enqueue":
            try await database.whileRunning {
                _ = try await messaging.queues.enqueue(arguments[3], messageID: arguments[4], message: .string("from another process"), on: nil)
            }
            say("enqueued")
        case "consume":
            let worker = arguments[5]
            let subscription = Subscription(
                bus: messaging.bus, group: arguments[3], patterns: [arguments[4]],
                options: ConsumerOptions(batchSize: 20, pollInterval: .seconds(1)), onReady: { say("ready") }
            ) { event, _ in
                try await database.execute("INSERT INTO probe_handled (event_id, worker) VALUES (\(event.id), \(worker))")
            }
            try await run([database, messaging.wakeUps, subscription], logger: logger)
        case "hang":
            let visibility = Int(arguments[5]) ?? 1000
            let subscription = Subscription(
                bus: messaging.bus, group: arguments[3], patterns: [arguments[4]],
                options: ConsumerOptions(batchSize: 1, visibility: .milliseconds(visibility), pollInterval: .milliseconds(200)),
                onReady: { say("ready") }
            ) { event, _ in
                say("handling \(event.id)")
                try await Task.sleep(for: .seconds(3600))
            }
            try await run([database, messaging.wakeUps, subscription], logger: logger)
        default:
            exit(64)
        }
    }

    /// One line on standard output, unbuffered, for the test that watches this process.
    static func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    static func run(_ services: [any Service], logger: Logger) async throws {
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm], logger: logger))
        try await group.run()
    }
}
