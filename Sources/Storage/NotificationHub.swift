import Foundation
import Synchronization

/// In-process publish/subscribe of notifications, for the SQLite backend (one process owns the file).
final class NotificationHub: Sendable {
    private let listeners = Mutex<[String: [UUID: @Sendable (String) -> Void]]>([:])

    func notify(channel: String, payload: String) {
        let handlers = self.listeners.withLock { Array(($0[channel] ?? [:]).values) }
        for handler in handlers {
            handler(payload)
        }
    }

    /// Registers `handler` until the calling task is cancelled.
    func listen(channel: String, _ handler: @escaping @Sendable (String) -> Void) async {
        let id = UUID()
        self.listeners.withLock { $0[channel, default: [:]][id] = handler }
        handler("*")
        await withTaskCancellationHandler {
            // Parks until cancelled; sleeping in long slices keeps the task cheap.
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(3600))
            }
        } onCancel: {
            self.listeners.withLock { _ = $0[channel]?.removeValue(forKey: id) }
        }
        self.listeners.withLock { _ = $0[channel]?.removeValue(forKey: id) }
    }
}
