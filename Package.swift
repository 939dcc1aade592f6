// swift-tools-version:6.1
import PackageDescription

let upcomingFeatures: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "portcullis",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "portcullis", targets: ["portcullis"])
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/vapor/sqlite-nio.git", from: "1.13.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        .target(
            name: "PortcullisCore",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: upcomingFeatures
        ),
        .target(
            name: "Storage",
            dependencies: [
                "PortcullisCore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: upcomingFeatures
        ),
        .target(
            name: "Messaging",
            dependencies: [
                "PortcullisCore",
                "Storage",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: upcomingFeatures
        ),
        .target(
            name: "Policy",
            dependencies: [
                "PortcullisCore",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: upcomingFeatures
        ),
        .target(
            name: "Cron",
            swiftSettings: upcomingFeatures
        ),
        .target(
            name: "FlowRepository",
            dependencies: [
                "PortcullisCore", "Cron", "Storage", "Messaging", "Policy", "GatewayKit",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: upcomingFeatures
        ),
        .target(
            name: "Scheduler",
            dependencies: [
                "PortcullisCore", "Cron", "Storage", "Messaging", "Policy", "GatewayKit",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: upcomingFeatures
        ),
        .target(
            name: "Webhooks",
            dependencies: [
                "PortcullisCore", "Storage", "Messaging", "Policy", "GatewayKit",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: upcomingFeatures
        ),
        .target(
            name: "Orchestrator",
            dependencies: [
                "PortcullisCore", "Storage", "Messaging", "Policy", "GatewayKit",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: upcomingFeatures
        ),
        .testTarget(
            name: "FlowRepositoryTests",
            dependencies: [
                "FlowRepository", "GatewayKit", "PortcullisCore", "Storage", "TestSupport", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: upcomingFeatures
        ),
        .testTarget(
            name: "FlowTests",
            dependencies: [
                "PortcullisCore", "Storage", "Messaging", "Policy", "IAM", "AuditLog", "Gateway", "GatewayKit", "FlowRepository", "Orchestrator",
                "Webhooks", "Scheduler", "DeadLetters", "TestSupport", "GatewayTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            exclude: ["Fixtures"],
            swiftSettings: upcomingFeatures
        ),
        .testTarget(
            name: "CronTests",
            dependencies: ["Cron"],
            swiftSettings: upcomingFeatures
        ),
        .target(
            name: "GatewayKit",
            dependencies: [
                "PortcullisCore",
                "Storage",
                "Messaging",
                "Policy",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: upcomingFeatures
        ),
        .target(
            name: "IAM",
            dependencies: [
                "PortcullisCore",
                "Storage",
                "Messaging",
                "Policy",
                "GatewayKit",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: upcomingFeatures
        ),
        .target(
            name: "AuditLog",
            dependencies: [
                "PortcullisCore",
                "Storage",
                "Messaging",
                "Policy",
                "GatewayKit",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: upcomingFeatures
        ),
        .target(
            name: "DeadLetters",
            dependencies: [
                "PortcullisCore",
                "Storage",
                "Messaging",
                "Policy",
                "GatewayKit",
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            swiftSettings: upcomingFeatures
        ),
        .target(
            name: "Gateway",
            dependencies: [
                "PortcullisCore",
                "Storage",
                "Messaging",
                "Policy",
                "IAM",
                "AuditLog",
                "DeadLetters",
                "FlowRepository",
                "Orchestrator",
                "Webhooks",
                "Scheduler",
                "GatewayKit",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: upcomingFeatures
        ),
        .executableTarget(
            name: "portcullis",
            dependencies: [
                "PortcullisCore",
                "Storage",
                "Messaging",
                "Policy",
                "IAM",
                "AuditLog",
                "Gateway",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: upcomingFeatures
        ),
        .testTarget(
            name: "PortcullisCoreTests",
            dependencies: ["PortcullisCore", .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")],
            swiftSettings: upcomingFeatures
        ),
        .testTarget(
            name: "StorageTests",
            dependencies: ["PortcullisCore", "Storage", "TestSupport"],
            swiftSettings: upcomingFeatures
        ),
        .testTarget(
            name: "MessagingTests",
            dependencies: ["PortcullisCore", "Storage", "Messaging", "TestSupport"],
            swiftSettings: upcomingFeatures
        ),
        .executableTarget(
            name: "bus-worker",
            dependencies: [
                "PortcullisCore", "Storage", "Messaging",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            path: "Tests/BusWorker",
            swiftSettings: upcomingFeatures
        ),
        // J1 of Benchmarks/run: in-process ES256 verifications per second.
        .executableTarget(
            name: "portcullis-bench-jwt",
            dependencies: ["IAM", .product(name: "JWTKit", package: "jwt-kit")],
            path: "Benchmarks/JWTVerify",
            swiftSettings: upcomingFeatures
        ),
        .testTarget(
            name: "AuditLogTests",
            dependencies: [
                "PortcullisCore", "Storage", "Messaging", "AuditLog", "TestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: upcomingFeatures
        ),
        .testTarget(
            name: "PolicyTests",
            dependencies: ["PortcullisCore", "Policy"],
            swiftSettings: upcomingFeatures
        ),
        .testTarget(
            name: "IAMTests",
            dependencies: [
                "PortcullisCore", "Storage", "Messaging", "Policy", "IAM", "AuditLog", "Gateway", "GatewayKit", "DeadLetters", "TestSupport",
                "GatewayTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: upcomingFeatures
        ),
        .testTarget(
            name: "GatewayTests",
            dependencies: [
                "PortcullisCore", "Storage", "Messaging", "Policy", "IAM", "AuditLog", "Gateway", "GatewayKit", "DeadLetters", "TestSupport",
                "GatewayTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: upcomingFeatures
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "PortcullisCore", "Storage", "TestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: upcomingFeatures
        ),
        .target(
            name: "GatewayTestSupport",
            dependencies: [
                "PortcullisCore", "Storage", "Messaging", "Policy", "IAM", "AuditLog", "Gateway", "GatewayKit", "TestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Tests/GatewayTestSupport",
            swiftSettings: upcomingFeatures
        ),
        .target(
            name: "TestSupport",
            dependencies: [
                "PortcullisCore", "Storage", "Messaging",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/TestSupport",
            swiftSettings: upcomingFeatures
        ),
    ]
)
