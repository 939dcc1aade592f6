import ArgumentParser

@main
struct PortcullisCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "portcullis",
        abstract: "Portcullis: the security gateway for integration flows.",
        discussion: """
            Every option can also be set through the environment variable named in its help; \
            a flag wins over the environment. An invalid value stops start-up with exit status 2.
            """,
        subcommands: [Serve.self, Migrate.self, Keys.self, PolicyCommand.self, AuditCommand.self]
    )
}
