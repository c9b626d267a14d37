// RowScanner: scans one dataset row with the strict scanner and records the facts the row checks need.

/// What one message of `body.messages` got wrong (the first such fault of a row is kept).
enum MessageFault {
    case notObject(JSONValueKind)
    case duplicateKey(String)
    case missingRole
    case roleNotString(JSONValueKind)
    case unknownRole([UInt8])
    case missingContent
    case nullContent
    case contentKind(JSONValueKind)
    case partNotObject(part: Int, JSONValueKind)
}

/// What the row checks need to know about a row, gathered in the same pass that validates its syntax.
/// Spans point into the line's bytes, which stay valid until the checks are done.
struct RowFacts {
    var top: JSONValueKind = .absent
    var duplicateKey: StaticString?

    var customID: JSONValueKind = .absent
    var customIDSpan = StringSpan()
    var method: JSONValueKind = .absent
    var methodSpan = StringSpan()
    var url: JSONValueKind = .absent
    var urlSpan = StringSpan()
    var body: JSONValueKind = .absent

    var messages: JSONValueKind = .absent
    var messageCount = 0
    var messageFault: (index: Int, fault: MessageFault)?

    var promptTokenIDs: JSONValueKind = .absent
    var promptTokenCount = 0
    /// The first element of prompt_token_ids that is not a non-negative integer: its index, kind and span.
    var promptFault: (index: Int, kind: JSONValueKind, start: Int, end: Int)?

    var stream: JSONValueKind = .absent
    var model: JSONValueKind = .absent
    var modelSpan = StringSpan()

    /// Bytes of text content (message strings and text parts, as written, escapes included).
    var textBytes = 0
}

private enum RowKey { case customID, body, method, url, other }
private enum BodyKey { case messages, promptTokenIDs, stream, model, other }
private enum MessageKey { case role, content, toolCalls, other }

extension JSONScanner {
    /// Scans one row: exactly one JSON value and nothing but whitespace after it.
    mutating func scanRow(into facts: inout RowFacts) throws(JSONSyntaxError) {
        skipWhitespace()
        guard pos < count else { throw fail(.empty) }
        if base[pos] == UInt8(ascii: "{") {
            facts.top = .object
            try scanRowObject(&facts)
        } else {
            facts.top = try skipValue(depth: 0)
        }
        skipWhitespace()
        if pos != count { throw fail(.trailingData) }
    }

    /// Reads a key and its colon, leaving `pos` on the value.
    @inline(__always) private mutating func key() throws(JSONSyntaxError) -> StringSpan {
        guard try peek() == UInt8(ascii: "\"") else { throw fail(.expectedKey) }
        let span = try scanString()
        try expectColon()
        return span
    }

    /// The key bytes, unescaped if needed, for comparison with the few names the checks look at.
    @inline(__always) private func keyIs(_ span: StringSpan, _ name: StaticString) -> Bool {
        // Names differ in length, so the length test rejects nearly every other key before any byte compare.
        (span.escaped || span.length == name.utf8CodeUnitCount) && spanEquals(span, name)
    }

    private mutating func scanRowObject(_ facts: inout RowFacts) throws(JSONSyntaxError) {
        pos &+= 1
        skipWhitespace()
        if try peek() == UInt8(ascii: "}") { pos &+= 1; return }
        while true {
            let name = try key()
            let which: RowKey
            if keyIs(name, "custom_id") { which = .customID }
            else if keyIs(name, "body") { which = .body }
            else if keyIs(name, "method") { which = .method }
            else if keyIs(name, "url") { which = .url }
            else { which = .other }
            switch which {
            case .customID:
                if facts.customID != .absent { facts.duplicateKey = facts.duplicateKey ?? "custom_id" }
                facts.customID = try scanCapturingString(&facts.customIDSpan, depth: 1)
            case .method:
                if facts.method != .absent { facts.duplicateKey = facts.duplicateKey ?? "method" }
                facts.method = try scanCapturingString(&facts.methodSpan, depth: 1)
            case .url:
                if facts.url != .absent { facts.duplicateKey = facts.duplicateKey ?? "url" }
                facts.url = try scanCapturingString(&facts.urlSpan, depth: 1)
            case .body:
                if facts.body != .absent { facts.duplicateKey = facts.duplicateKey ?? "body" }
                if try peek() == UInt8(ascii: "{") {
                    facts.body = .object
                    try scanBody(&facts)
                } else {
                    facts.body = try skipValue(depth: 1)
                }
            case .other:
                _ = try skipValue(depth: 1)
            }
            if try endOfMember(close: UInt8(ascii: "}")) { return }
        }
    }

    /// Scans a value, keeping its span when it is a string.
    @inline(__always) private mutating func scanCapturingString(_ span: inout StringSpan, depth: Int) throws(JSONSyntaxError) -> JSONValueKind {
        if try peek() == UInt8(ascii: "\"") {
            span = try scanString()
            return .string
        }
        return try skipValue(depth: depth)
    }

    private mutating func scanBody(_ facts: inout RowFacts) throws(JSONSyntaxError) {
        // The row object is depth 1, so the body object is depth 2.
        pos &+= 1
        skipWhitespace()
        if try peek() == UInt8(ascii: "}") { pos &+= 1; return }
        while true {
            let name = try key()
            let which: BodyKey
            if keyIs(name, "messages") { which = .messages }
            else if keyIs(name, "prompt_token_ids") { which = .promptTokenIDs }
            else if keyIs(name, "stream") { which = .stream }
            else if keyIs(name, "model") { which = .model }
            else { which = .other }
            switch which {
            case .messages:
                if facts.messages != .absent { facts.duplicateKey = facts.duplicateKey ?? "body.messages" }
                if try peek() == UInt8(ascii: "[") {
                    facts.messages = .array
                    try scanMessages(&facts)
                } else {
                    facts.messages = try skipValue(depth: 2)
                }
            case .promptTokenIDs:
                if facts.promptTokenIDs != .absent { facts.duplicateKey = facts.duplicateKey ?? "body.prompt_token_ids" }
                if try peek() == UInt8(ascii: "[") {
                    facts.promptTokenIDs = .array
                    try scanTokenIDs(&facts)
                } else {
                    facts.promptTokenIDs = try skipValue(depth: 2)
                }
            case .stream:
                if facts.stream != .absent { facts.duplicateKey = facts.duplicateKey ?? "body.stream" }
                facts.stream = try skipValue(depth: 2)
            case .model:
                if facts.model != .absent { facts.duplicateKey = facts.duplicateKey ?? "body.model" }
                facts.model = try scanCapturingString(&facts.modelSpan, depth: 2)
            case .other:
                _ = try skipValue(depth: 2)
            }
            if try endOfMember(close: UInt8(ascii: "}")) { return }
        }
    }

    private mutating func scanTokenIDs(_ facts: inout RowFacts) throws(JSONSyntaxError) {
        pos &+= 1
        skipWhitespace()
        if try peek() == UInt8(ascii: "]") { pos &+= 1; return }
        while true {
            let start = pos
            let c = try peek()
            let fine: Bool
            let kind: JSONValueKind
            if c == UInt8(ascii: "-") || JSONScanner.isDigit(c) {
                fine = try scanNumber()
                kind = .number
            } else {
                kind = try skipValue(depth: 3)
                fine = false
            }
            if !fine, facts.promptFault == nil { facts.promptFault = (facts.promptTokenCount, kind, start, pos) }
            facts.promptTokenCount &+= 1
            if try endOfMember(close: UInt8(ascii: "]")) { return }
        }
    }

    private mutating func scanMessages(_ facts: inout RowFacts) throws(JSONSyntaxError) {
        pos &+= 1
        skipWhitespace()
        if try peek() == UInt8(ascii: "]") { pos &+= 1; return }
        while true {
            let index = facts.messageCount
            facts.messageCount &+= 1
            if try peek() == UInt8(ascii: "{") {
                if let fault = try scanMessage(&facts), facts.messageFault == nil { facts.messageFault = (index, fault) }
            } else {
                let kind = try skipValue(depth: 3)
                if facts.messageFault == nil { facts.messageFault = (index, .notObject(kind)) }
            }
            if try endOfMember(close: UInt8(ascii: "]")) { return }
        }
    }

    /// Scans one message object (depth 4) and returns its first fault, if any.
    private mutating func scanMessage(_ facts: inout RowFacts) throws(JSONSyntaxError) -> MessageFault? {
        var role: JSONValueKind = .absent
        var roleSpan = StringSpan()
        var content: JSONValueKind = .absent
        var toolCalls: JSONValueKind = .absent
        var fault: MessageFault?
        pos &+= 1
        skipWhitespace()
        if try peek() == UInt8(ascii: "}") {
            pos &+= 1
        } else {
            while true {
                let name = try key()
                let which: MessageKey
                if keyIs(name, "role") { which = .role }
                else if keyIs(name, "content") { which = .content }
                else if keyIs(name, "tool_calls") { which = .toolCalls }
                else { which = .other }
                switch which {
                case .role:
                    if role != .absent, fault == nil { fault = .duplicateKey("role") }
                    role = try scanCapturingString(&roleSpan, depth: 4)
                case .content:
                    if content != .absent, fault == nil { fault = .duplicateKey("content") }
                    let c = try peek()
                    if c == UInt8(ascii: "\"") {
                        let span = try scanString()
                        facts.textBytes &+= span.length
                        content = .string
                    } else if c == UInt8(ascii: "[") {
                        content = .array
                        if let partFault = try scanContentParts(&facts), fault == nil { fault = partFault }
                    } else {
                        content = try skipValue(depth: 4)
                    }
                case .toolCalls:
                    if toolCalls != .absent, fault == nil { fault = .duplicateKey("tool_calls") }
                    toolCalls = try skipValue(depth: 4)
                case .other:
                    _ = try skipValue(depth: 4)
                }
                if try endOfMember(close: UInt8(ascii: "}")) { break }
            }
        }
        if let fault { return fault }
        switch role {
        case .absent: return .missingRole
        case .string: break
        default: return .roleNotString(role)
        }
        let isAssistant: Bool
        if spanEquals(roleSpan, "user") || spanEquals(roleSpan, "system") || spanEquals(roleSpan, "tool") {
            isAssistant = false
        } else if spanEquals(roleSpan, "assistant") {
            isAssistant = true
        } else {
            return .unknownRole(decode(roleSpan))
        }
        switch content {
        case .string, .array: return nil
        case .absent, .null:
            // OpenAI lets an assistant turn that only calls tools leave out its text.
            if isAssistant, toolCalls == .array { return nil }
            return content == .null ? .nullContent : .missingContent
        default: return .contentKind(content)
        }
    }

    /// Scans a content array (depth 5): each part must be an object; text parts count toward the estimate.
    private mutating func scanContentParts(_ facts: inout RowFacts) throws(JSONSyntaxError) -> MessageFault? {
        var fault: MessageFault?
        var index = 0
        pos &+= 1
        skipWhitespace()
        if try peek() == UInt8(ascii: "]") { pos &+= 1; return nil }
        while true {
            if try peek() == UInt8(ascii: "{") {
                try scanPart(&facts)
            } else {
                let kind = try skipValue(depth: 5)
                if fault == nil { fault = .partNotObject(part: index, kind) }
            }
            index &+= 1
            if try endOfMember(close: UInt8(ascii: "]")) { return fault }
        }
    }

    private mutating func scanPart(_ facts: inout RowFacts) throws(JSONSyntaxError) {
        pos &+= 1
        skipWhitespace()
        if try peek() == UInt8(ascii: "}") { pos &+= 1; return }
        while true {
            let name = try key()
            if keyIs(name, "text"), try peek() == UInt8(ascii: "\"") {
                facts.textBytes &+= try scanString().length
            } else {
                _ = try skipValue(depth: 6)
            }
            if try endOfMember(close: UInt8(ascii: "}")) { return }
        }
    }
}
