import Foundation
import Yams

/// Reads a policy file whose content is a list under one key (`rules:`, `cases:`), decoding each entry
/// with the line it starts on, so that errors can point at it.
enum YAMLList {
    static func decode<Entry: Decodable>(_ type: Entry.Type, key: String, file: String) throws(PolicyError) -> [(entry: Entry, line: Int)] {
        let text = try PolicyFileText.read(file)
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw PolicyError(file: file, reason: "is not valid YAML")
        }
        guard let sequence = root?[key]?.sequence else {
            throw PolicyError(file: file, reason: "needs a list under '\(key)'")
        }
        var entries: [(entry: Entry, line: Int)] = []
        for node in sequence {
            let line = node.mark?.line ?? 0
            do {
                entries.append((try YAMLDecoder().decode(Entry.self, from: node), line))
            } catch let error as DecodingError {
                throw PolicyError(file: file, line: line, reason: PolicySet.describe(error))
            } catch {
                throw PolicyError(file: file, line: line, reason: "cannot be decoded")
            }
        }
        return entries
    }
}
