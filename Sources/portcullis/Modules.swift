import AuditLog
import IAM
import Messaging
import Storage

/// The modules this build composes, in dependency order. Each contributes its own migrations.
enum Modules {
    static let migrations: [Migration] = MessagingMigrations.all + IAMMigrations.all + AuditMigrations.all
}
