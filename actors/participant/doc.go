// Package participant hosts the participant role on hollywood actors: Start
// replays the participant's log into its state machine
// (protocol.Participant) and runs one actor that carries out its effects
// (log records, messages to the coordinator and to peers, timers), after
// checking who may send what (auth.go).
package participant
