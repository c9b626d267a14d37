// WireEnum: a protobuf enum as protojson carries it, by name, with a name this build does not know kept as sent.

/// The known names are cases; any other name (from a newer gateway) is `unrecognized(name)` and encodes back
/// unchanged, so a resource read and written again, or printed with `-o json`, says what the gateway said.
/// `allCases` lists the known cases only, in the order of the enum's definition.
public protocol WireEnum: RawRepresentable, CaseIterable, Hashable, Sendable, CustomStringConvertible
where RawValue == String, AllCases == [Self] {
    /// The zero value (`..._UNSPECIFIED`): what an absent field means.
    static var unspecified: Self { get }
    /// A name that is none of `allCases`.
    static func unrecognized(_ name: String) -> Self
}

extension WireEnum {
    /// The case whose wire name is `name`, or `unrecognized(name)`.
    public init(name: String) {
        self = Self.allCases.first { $0.rawValue == name } ?? .unrecognized(name)
    }

    /// Never nil: an unknown name is kept as `unrecognized`. Use `isRecognized` to refuse one.
    public init?(rawValue: String) { self.init(name: rawValue) }

    /// False for a name this build does not know.
    public var isRecognized: Bool { Self.allCases.contains(self) }

    /// The wire names of every known case.
    public static var names: [String] { allCases.map(\.rawValue) }

    public var description: String { rawValue }
}
