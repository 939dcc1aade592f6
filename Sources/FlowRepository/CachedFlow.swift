/// A flow as read for an answer: the flow, and the memo of its encoded answers when this version of it is
/// in the ``FlowCache`` (nil when it could not be kept).
struct CachedFlow: Sendable {
    let flow: Flow
    let answers: FlowAnswerMemo?
}
