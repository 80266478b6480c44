package wire

// ErrForbidden is the ErrorCode of a message its sender may not send to that
// node: a client sending a coordinator's message to a participant, a
// coordinator the participant does not accept, a stranger speaking for a
// transaction it is no member of. The node closes the connection after it;
// but a client whose certificate's role does not allow a request (a
// read-only client's Start or Resolve) gets it as the answer to that
// request and keeps its connection.
// (Declared beside messages.go's codes, in a file of its own.)
const ErrForbidden ErrorCode = "forbidden"
