/// An error that retrying cannot fix (a bad group name, an invalid pattern): a supervised background
/// service that fails with one stays stopped, and readiness keeps saying so, rather than being restarted
/// forever.
public protocol UnrecoverableError: Error {}
